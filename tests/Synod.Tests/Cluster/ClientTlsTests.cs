using Synod.Client;
using Synod.Server;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Issue 18, TLS for clients: replicas started with `serve --tls-cert --tls-key` serve clients only over TLS on their
/// one port (peers keep their own handshake there); a client that trusts their CA is served, a plaintext one and one
/// that trusts another CA are refused with a reason; with `--tls-client-ca` a client must show a certificate from that
/// CA. Checked as a user would: the operation's outcome, the error's words and exit code, the replica's log.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClientTlsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Short = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_cluster_serving_tls_answers_clients_that_trust_its_ca_and_refuses_plaintext_and_another_ca_saying_why()
    {
        await using var cluster = new ReplicaProcesses(3, ClientTlsMode.Tls);
        await cluster.WaitForLeaderAsync(StartupLimit);

        await using (var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, Tls = cluster.ClientTls }))
        {
            await client.PutAsync("over-tls", "yes");
            Assert.Equal("yes", (await client.GetAsync("over-tls")).ValueAsString());
        }

        await using (var plaintext = new SynodClient(new SynodClientOptions { Endpoints = [cluster.EndpointList[0]], OperationTimeout = Short }))
        {
            var refused = await Assert.ThrowsAnyAsync<SynodException>(() => plaintext.GetAsync("over-tls"));
            output.WriteLine(refused.Message);
            Assert.DoesNotContain("over-tls", refused.Message, StringComparison.Ordinal);
        }

        Assert.Contains("it serves clients over TLS only", await PeerWireTests.LogOnceItHasAsync(cluster, 1, "closed a plaintext HTTP/2 connection"));

        var other = Path.Combine(Path.GetTempPath(), $"synod-other-ca-{Guid.NewGuid():N}");
        try
        {
            var otherCa = PeerCertificates.WriteDevelopmentSet(other, "other", [1], [], force: false);
            await using var stranger = new SynodClient(new SynodClientOptions
            {
                Endpoints = [cluster.EndpointList[0]],
                OperationTimeout = Short,
                Tls = SynodClientTls.FromPemFiles(otherCa.Authority, null, null),
            });
            var rejected = await Assert.ThrowsAsync<SynodUnreachableException>(() => stranger.GetAsync("over-tls"));
            output.WriteLine(rejected.Message);
            Assert.Contains("TLS handshake failed: its certificate was not accepted", rejected.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task With_client_certificates_required_a_client_without_one_is_refused_and_one_from_the_ca_is_served_by_the_cli_too()
    {
        await using var cluster = new ReplicaProcesses(3, ClientTlsMode.Mutual);
        await cluster.WaitForLeaderAsync(StartupLimit);
        var (certificate, key) = PeerCertificates.WriteClient(cluster.Certificates.Directory, "app-1");

        await using (var anonymous = new SynodClient(new SynodClientOptions
        {
            Endpoints = cluster.EndpointList,
            OperationTimeout = Short,
            Tls = SynodClientTls.FromPemFiles(cluster.Certificates.Authority, null, null),
        }))
        {
            var refused = await Assert.ThrowsAnyAsync<SynodException>(() => anonymous.PutAsync("k", "v"));
            output.WriteLine(refused.Message);
            Assert.DoesNotContain("OK", refused.Message, StringComparison.Ordinal);
        }

        var endpoints = string.Join(",", cluster.EndpointList);
        var put = await CliExitCodeTests.RunAsync("put", "mutual", "ok", "--endpoints", endpoints, "--cacert", cluster.Certificates.Authority, "--cert", certificate, "--key", key);
        Assert.True(put.ExitCode == 0, $"exit {put.ExitCode}: {put.Stderr}");
        var get = await CliExitCodeTests.RunAsync("get", "mutual", "--endpoints", endpoints, "--cacert", cluster.Certificates.Authority, "--cert", certificate, "--key", key);
        Assert.Equal("ok", get.Stdout.Trim());

        var withoutCertificate = await CliExitCodeTests.RunAsync("get", "mutual", "--endpoints", endpoints, "--cacert", cluster.Certificates.Authority, "--timeout", "2s");
        output.WriteLine(withoutCertificate.Stderr);
        Assert.NotEqual(0, withoutCertificate.ExitCode);
        // The words depend on which failure the client's last attempt met under load (a refused handshake, or a deadline
        // on a channel still waiting to connect): it fails, naming a replica, either way.
        Assert.True(withoutCertificate.Stderr.Contains("want a client certificate: give --cert and --key", StringComparison.Ordinal)
            || withoutCertificate.Stderr.Contains("no answer", StringComparison.Ordinal), withoutCertificate.Stderr);
        var halfCertificate = await CliExitCodeTests.RunAsync("get", "mutual", "--endpoints", endpoints, "--cert", certificate);
        Assert.Equal(2, halfCertificate.ExitCode);
        Assert.Contains("give --cert and --key together", halfCertificate.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.5", true)]
    [InlineData("::1", true)]
    [InlineData("localhost", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("::", false)]
    public void Serve_warns_about_plaintext_clients_only_where_other_machines_can_reach_the_port(string host, bool loopback) =>
        Assert.Equal(loopback, Synod.Protocol.HostPort.IsLoopback(host));
}
