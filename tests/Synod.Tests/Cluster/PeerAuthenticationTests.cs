using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Synod.Cli;
using Synod.Client;
using Synod.Protocol.Peer;
using Synod.Server;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Issue 12: only a holder of a certificate from the cluster's CA may speak as a replica, in its certificate's name,
/// over one link per id; nothing a stranger sends to the port makes the replica hold memory by a length it announces
/// or a connection without a deadline. Each test does what an attacker or a misconfigured operator would, against
/// real `synod serve` processes, and checks what a user would: the refusal's reason, the log, an unchanged state, a
/// replica that keeps serving.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class PeerAuthenticationTests(ITestOutputHelper output)
{
    /// <summary>
    /// What a replica may hold under the attack of issue 12 (30 connections announcing huge frames): a replica runs in
    /// about 100-150 MB; before the fix the attack took one to 8.1 GB.
    /// </summary>
    private const long ResidentBytesMax = 600L * 1024 * 1024;

    private const int StalledConnections = 30;

    /// <summary>ServerOptions.PeerMessageBytesMax's default.</summary>
    private const uint PeerMessageBytesMax = 72 * 1024 * 1024;

    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_unauthenticated_hello_in_the_leaders_name_is_refused_with_a_reason_and_its_message_changes_nothing()
    {
        await using var cluster = new ReplicaProcesses(3);
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        var follower = cluster.Endpoints.Keys.First(id => id != leader);
        var before = (await cluster.StatusAsync(follower))!;

        await using var stranger = await PeerDialer.ConnectAsync(cluster.Endpoints[follower]);
        var (status, reason) = await stranger.SayHelloAsync(from: leader, clusterSize: 3);
        // A Prepare far above any ballot, in the leader's name: a follower that took it would promise it.
        var forged = new PeerMessage { To = (uint)follower, Prepare = new PreparePb { Ballot = new BallotPb { Round = 1_000_000, Replica = (uint)leader }, FromSlot = 1 } };
        await WriteIgnoringResetAsync(stranger, PeerDialer.Frame(forged));

        Assert.Equal(1, status);
        Assert.Contains("accepts only authenticated peers", reason);
        Assert.Contains("--peer-cert", reason);
        Assert.True(await stranger.ClosedByReplicaAsync(), "the replica should close the connection after its refusal");
        Assert.Contains("said a plaintext hello", await PeerWireTests.LogOnceItHasAsync(cluster, follower, "said a plaintext hello"));
        // A loaded machine may hold a real election meanwhile, so the promise may move, but never to the forged ballot.
        var after = (await cluster.StatusAsync(follower))!;
        Assert.True(PromisedRound(after.Promised) < 1_000_000, $"the follower promised {after.Promised} (before: {before.Promised}); the forged Prepare must change nothing");
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        await client.PutAsync("after-stranger", "unchanged");
        Assert.Equal("unchanged", (await client.GetAsync("after-stranger")).ValueAsString());
    }

    /// <summary>The round of a status's promised ballot, written "round.replica".</summary>
    private static long PromisedRound(string promised) =>
        long.Parse(promised.Split('.')[0], CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_certificate_from_another_CA_is_refused_at_the_TLS_handshake()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        // Another CA with the same cluster name, as another run of `synod certs` makes.
        var now = DateTimeOffset.UtcNow;
        using var otherAuthority = PeerCertificates.CreateAuthority(PeerCertificates.DefaultCluster, now.AddHours(-1), now.AddYears(1));
        using var foreign = PeerCertificates.CreateReplica(otherAuthority, PeerCertificates.DefaultCluster, 2, [], now.AddHours(-1), now.AddYears(1));

        var refused = false;
        try
        {
            // In TLS 1.3 the client may finish its side before the server has judged the client's certificate, so the
            // refusal shows either in the handshake or as the connection closing before the hello's answer.
            await using var peer = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], foreign);
            await peer.WriteAsync(PeerDialer.Hello(2, 3));
            refused = await peer.ClosedByReplicaAsync();
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            refused = true;
        }

        Assert.True(refused, "the replica should refuse a certificate its CA did not issue");
        var log = await PeerWireTests.LogOnceItHasAsync(cluster, 1, "at the TLS handshake");
        Assert.Contains("at the TLS handshake", log);
        Assert.Contains("not issued by this cluster's CA", log);
    }

    [Fact]
    public async Task A_replica_certificate_whose_hello_claims_another_id_is_refused()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        using var certificate = PeerWireTests.LoadCertificate(cluster, 2);

        await using var peer = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], certificate);
        var (status, reason) = await peer.SayHelloAsync(from: 3, clusterSize: 3);

        Assert.Equal(1, status);
        Assert.Contains("certificate is replica 2's but whose hello says replica 3", reason);
        Assert.True(await peer.ClosedByReplicaAsync(), "the replica should close the connection after its refusal");
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task A_second_authenticated_link_for_the_same_id_replaces_the_first()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        // The test speaks as replica 2; the real one must not reconnect and replace the test's links itself.
        cluster.Kill(2);
        using var certificate = PeerWireTests.LoadCertificate(cluster, 2);

        await using var first = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], certificate);
        Assert.Equal(0, (await first.SayHelloAsync(from: 2, clusterSize: 3)).Status);
        await using var second = await PeerDialer.ConnectTlsAsync(cluster.Endpoints[1], certificate);
        Assert.Equal(0, (await second.SayHelloAsync(from: 2, clusterSize: 3)).Status);

        Assert.True(await first.ClosedByReplicaAsync(), "the older link from replica 2 should be closed by the newer one");
        Assert.False(second.ClosedNow(), "the newer link from replica 2 should stay open");
        Assert.Contains("replaced the open one", await PeerWireTests.LogOnceItHasAsync(cluster, 1, "replaced the open one"));
    }

    /// <summary>
    /// Issue 12's attack (plaintext hellos in members' names, each announcing a 256 MiB message, then silence) and its
    /// authenticated form (links as replica 2 announcing just under PeerMessageBytesMax, with a first part of the
    /// message, then silence): the replica's resident memory stays bounded and it keeps serving.
    /// </summary>
    [Fact]
    public async Task Thirty_stalled_connections_announcing_huge_messages_leave_memory_bounded_and_the_replica_serving()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        cluster.Kill(2);
        var target = cluster.Endpoints[1];
        using var certificate = PeerWireTests.LoadCertificate(cluster, 2);
        var connections = new List<PeerDialer>();
        try
        {
            for (var i = 0; i < StalledConnections; i++)
            {
                var plain = await PeerDialer.ConnectAsync(target);
                connections.Add(plain);
                await WriteIgnoringResetAsync(plain, [.. PeerDialer.Hello(from: 3, clusterSize: 3), .. Length(256u * 1024 * 1024)]);

                var authenticated = await PeerDialer.ConnectTlsAsync(target, certificate);
                connections.Add(authenticated);
                Assert.Equal(0, (await authenticated.SayHelloAsync(from: 2, clusterSize: 3)).Status);
                await authenticated.WriteAsync([.. Length(PeerMessageBytesMax - 1), .. new byte[64 * 1024]]);
            }

            await using var client = new SynodClient(new SynodClientOptions { Endpoints = [target] });
            await client.PutAsync("under-attack", "served");
            Assert.Equal("served", (await client.GetAsync("under-attack")).ValueAsString());
            var resident = ResidentBytes(cluster.ProcessId(1));
            output.WriteLine($"replica 1's resident memory with {connections.Count} stalled connections: {resident / (1024 * 1024)} MiB " +
                $"(bound {ResidentBytesMax / (1024 * 1024)} MiB; replica 3, not attacked: {ResidentBytes(cluster.ProcessId(3)) / (1024 * 1024)} MiB)");
            Assert.True(resident < ResidentBytesMax, $"replica 1 holds {resident / (1024 * 1024)} MiB under the attack; the bound is {ResidentBytesMax / (1024 * 1024)} MiB");

            // One more byte than the limit closes the link at once.
            await using var over = await PeerDialer.ConnectTlsAsync(target, certificate);
            Assert.Equal(0, (await over.SayHelloAsync(from: 2, clusterSize: 3)).Status);
            await over.WriteAsync(Length(PeerMessageBytesMax + 1));
            Assert.True(await over.ClosedByReplicaAsync(), "a length over PeerMessageBytesMax should close the connection");
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task Half_a_peer_magic_or_half_an_HTTP2_preface_and_then_silence_is_closed_after_the_handshake_timeout()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);

        await using var halfMagic = await PeerDialer.ConnectAsync(cluster.Endpoints[1]);
        await halfMagic.WriteAsync("SYNOD"u8.ToArray());
        await using var halfPreface = await PeerDialer.ConnectAsync(cluster.Endpoints[1]);
        await halfPreface.WriteAsync("PRI * HTTP/2.0\r\n"u8.ToArray());
        await using var silentTls = await PeerDialer.ConnectAsync(cluster.Endpoints[1]);
        await silentTls.WriteAsync("SYNODPT8"u8.ToArray());

        // PeerHandshakeTimeoutMs is 5 s; each read waits up to PeerDialer.ReadLimit (30 s) for the close.
        Assert.True(await halfMagic.ClosedByReplicaAsync(), "half a peer magic should be closed after PeerHandshakeTimeoutMs");
        Assert.True(await halfPreface.ClosedByReplicaAsync(), "half an HTTP/2 preface should be closed after PeerHandshakeTimeoutMs");
        Assert.Equal(0, (await silentTls.ReadAnswerAsync()).Status);
        Assert.True(await silentTls.ClosedByReplicaAsync(), "a TLS handshake that never starts should be closed after PeerHandshakeTimeoutMs");
        // The two lines are logged by different connections' timers, in either order: wait for each.
        Assert.Contains("did not finish within", await PeerWireTests.LogOnceItHasAsync(cluster, 1, "did not finish within"));
        Assert.Contains("of a peer hello or an HTTP/2 preface", await PeerWireTests.LogOnceItHasAsync(cluster, 1, "of a peer hello or an HTTP/2 preface"));
    }

    [Fact]
    public async Task A_replica_with_insecure_peers_refuses_a_TLS_peer_with_a_reason_and_serves_among_its_like()
    {
        await using var cluster = new ReplicaProcesses(3, "--insecure-peers");
        await cluster.WaitForLeaderAsync(StartupLimit);

        await using var peer = await PeerDialer.ConnectAsync(cluster.Endpoints[1]);
        await peer.WriteAsync("SYNODPT8"u8.ToArray());
        var (status, reason) = await peer.ReadAnswerAsync();

        Assert.Equal(1, status);
        Assert.Contains("runs with --insecure-peers", reason);
        Assert.Contains("Start every replica of the cluster the same way", reason);
        Assert.Contains("--insecure-peers: peer connections are neither authenticated nor encrypted", cluster.Log(1));
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        await client.PutAsync("insecure", "still a cluster");
        Assert.Equal("still a cluster", (await client.GetAsync("insecure")).ValueAsString());
    }

    [Fact]
    public async Task Certificates_from_synod_certs_start_a_replica_and_serve_refuses_to_start_without_them()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"synod-certs-test-{Guid.NewGuid():N}");
        var endpoint = ReplicaProcesses.NewEndpoints(1)[1];
        Process? replica = null;
        try
        {
            var certs = await CliExitCodeTests.RunAsync("certs", "--out", directory, "--replicas", "1");
            Assert.True(certs.ExitCode == ExitCodes.Ok, certs.Stderr);
            var files = new PeerCertificateFiles(directory);
            var serve = new[] { "serve", "--id", "1", "--peers", $"1={endpoint}", "--data-dir", Path.Combine(directory, "r1"), "--new-cluster" };

            var bare = await CliExitCodeTests.RunAsync(serve);
            AssertOneLineError(bare, "--peer-cert", "--peer-key", "--peer-ca", "--insecure-peers");
            var again = await CliExitCodeTests.RunAsync("certs", "--out", directory);
            AssertOneLineError(again, "ca-key.pem exists already", "--force");

            replica = StartSynod([.. serve, .. files.ServeArgs(1)]);
            await using var client = new SynodClient(new SynodClientOptions { Endpoints = [endpoint], OperationTimeout = StartupLimit });
            await client.PutAsync("certified", "yes");
            Assert.Equal("yes", (await client.GetAsync("certified")).ValueAsString());
        }
        finally
        {
            if (replica is not null)
            {
                replica.Kill();
                await replica.WaitForExitAsync();
                replica.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_refuses_another_replicas_certificate_naming_the_file_and_both_ids()
    {
        await using var cluster = new ReplicaProcesses(3);
        var endpoints = string.Join(",", cluster.Endpoints.Select(e => $"{e.Key}={e.Value}"));

        var run = await CliExitCodeTests.RunAsync("serve", "--id", "1", "--peers", endpoints, "--data-dir", Path.Combine(cluster.DataDir(1), "other"),
            "--peer-cert", cluster.Certificates.Certificate(2), "--peer-key", cluster.Certificates.Key(2), "--peer-ca", cluster.Certificates.Authority);

        AssertOneLineError(run, cluster.Certificates.Certificate(2), "replica 2's certificate", "--id 1");
    }

    private static void AssertOneLineError((int ExitCode, string Stdout, string Stderr) run, params string[] mentions)
    {
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(run.ExitCode == ExitCodes.InvalidInput, $"exit code {run.ExitCode}, expected {ExitCodes.InvalidInput}; stderr: {run.Stderr}");
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal), $"stderr should be one 'error:' line: {run.Stderr}");
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, lines[0], StringComparison.Ordinal);
        }
    }

    private static Process StartSynod(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "synod.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static byte[] Length(uint bytes)
    {
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, bytes);
        return prefix;
    }

    /// <summary>Writes what an attacker would; the replica may have closed the connection already, which is fine.</summary>
    private static async Task WriteIgnoringResetAsync(PeerDialer connection, byte[] bytes)
    {
        try
        {
            await connection.WriteAsync(bytes);
        }
        catch (IOException)
        {
        }
    }

    private static long ResidentBytes(int processId) => ProcessMemory.ResidentBytes(processId);
}
