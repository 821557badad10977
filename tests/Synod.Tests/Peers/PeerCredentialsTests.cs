using System.Security.Cryptography.X509Certificates;
using Synod.Server;

namespace Synod.Tests.Peers;

/// <summary>
/// The certificate rules of docs/security.md, on certificates made in memory: a peer is accepted only with a
/// certificate of this cluster's CA, valid now, naming this cluster and, when the dialer knows whom it dialled, that
/// replica; and a replica starts only with its own certificate.
/// </summary>
public sealed class PeerCredentialsTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly X509Certificate2 _authority = PeerCertificates.CreateAuthority("alpha", Now.AddDays(-60), Now.AddYears(1));
    private readonly PeerCredentials _replica1;

    public PeerCredentialsTests()
    {
        _replica1 = PeerCredentials.Create(Replica(_authority, "alpha", 1), _authority, 1, "replica 1's certificate", "the CA");
    }

    [Fact]
    public void A_certificate_of_this_clusters_CA_naming_the_dialled_replica_is_accepted()
    {
        using var peer = Replica(_authority, "alpha", 2);

        Assert.Null(_replica1.CheckPeer(peer, TlsRole.Server, expectedId: 2));
        Assert.Null(_replica1.CheckPeer(peer, TlsRole.Client, expectedId: null));
        Assert.Equal(new PeerIdentity(2, "alpha"), PeerIdentity.Read(peer, out _));
    }

    [Fact]
    public void A_certificate_from_another_CA_is_refused_even_when_that_CA_has_the_same_name()
    {
        using var otherAuthority = PeerCertificates.CreateAuthority("alpha", Now.AddDays(-1), Now.AddYears(1));
        using var stranger = Replica(otherAuthority, "alpha", 2);

        var problem = _replica1.CheckPeer(stranger, TlsRole.Client, expectedId: null);

        Assert.NotNull(problem);
        Assert.Contains("not issued by this cluster's CA", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void While_a_cluster_moves_to_a_new_CA_a_replica_trusting_both_accepts_either_and_one_trusting_the_new_alone_refuses_the_old()
    {
        using var newAuthority = PeerCertificates.CreateAuthority("alpha", Now.AddDays(-1), Now.AddYears(2));
        using var oldPeer = Replica(_authority, "alpha", 2);
        using var newPeer = Replica(newAuthority, "alpha", 3);
        using var both = PeerCredentials.Create(Replica(newAuthority, "alpha", 1), [newAuthority, _authority], 1, "replica 1's new certificate", "both CAs");
        using var newOnly = PeerCredentials.Create(Replica(newAuthority, "alpha", 1), newAuthority, 1, "replica 1's new certificate", "the new CA");

        Assert.Null(both.CheckPeer(oldPeer, TlsRole.Client, expectedId: null));
        Assert.Null(both.CheckPeer(newPeer, TlsRole.Server, expectedId: 3));
        Assert.Null(newOnly.CheckPeer(newPeer, TlsRole.Client, expectedId: null));
        Assert.Contains("not issued by this cluster's CA", newOnly.CheckPeer(oldPeer, TlsRole.Client, expectedId: null), StringComparison.Ordinal);
    }

    [Fact]
    public void A_CA_file_may_hold_several_CAs_and_one_that_is_no_CA_is_refused_naming_it()
    {
        using var newAuthority = PeerCertificates.CreateAuthority("alpha", Now.AddDays(-1), Now.AddYears(2));
        using var leaf = Replica(_authority, "alpha", 2);
        var path = Path.Combine(Path.GetTempPath(), $"synod-ca-bundle-{Guid.NewGuid():N}.pem");
        try
        {
            File.WriteAllText(path, _authority.ExportCertificatePem() + "\n" + newAuthority.ExportCertificatePem() + "\n");
            Assert.Equal(2, Synod.Protocol.TlsCertificates.LoadAuthorities(path, "--peer-ca").Count);

            File.WriteAllText(path, _authority.ExportCertificatePem() + "\n" + leaf.ExportCertificatePem() + "\n");
            var error = Assert.Throws<ArgumentException>(() => Synod.Protocol.TlsCertificates.LoadAuthorities(path, "--peer-ca"));
            Assert.Contains("synod-replica-2", error.Message, StringComparison.Ordinal);
            Assert.Contains("is not a CA certificate", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_certificate_of_this_CA_for_another_cluster_is_refused()
    {
        using var otherCluster = Replica(_authority, "beta", 2);

        var problem = _replica1.CheckPeer(otherCluster, TlsRole.Client, expectedId: null);

        Assert.NotNull(problem);
        Assert.Contains("cluster 'beta'", problem, StringComparison.Ordinal);
        Assert.Contains("this is cluster 'alpha'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dialer_refuses_a_certificate_that_names_another_replica_than_the_one_it_dialled()
    {
        using var peer = Replica(_authority, "alpha", 3);

        var problem = _replica1.CheckPeer(peer, TlsRole.Server, expectedId: 2);

        Assert.NotNull(problem);
        Assert.Contains("replica 3's, but replica 2 was dialled", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_certificate_is_refused()
    {
        using var expired = PeerCertificates.CreateReplica(_authority, "alpha", 2, [], Now.AddDays(-30), Now.AddDays(-1));

        var problem = _replica1.CheckPeer(expired, TlsRole.Client, expectedId: null);

        Assert.NotNull(problem);
        Assert.Contains("not valid now", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replica_refuses_to_start_with_another_replicas_certificate_and_names_both_ids()
    {
        using var certificate = Replica(_authority, "alpha", 3);

        var error = Assert.Throws<ArgumentException>(() => PeerCredentials.Create(certificate, _authority, 2, "--peer-cert r3.pem", "--peer-ca ca.pem"));

        Assert.Contains("--peer-cert r3.pem is replica 3's certificate", error.Message, StringComparison.Ordinal);
        Assert.Contains("this is --id 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replica_refuses_to_start_with_a_certificate_its_CA_did_not_issue()
    {
        using var otherAuthority = PeerCertificates.CreateAuthority("alpha", Now.AddDays(-1), Now.AddYears(1));
        using var certificate = Replica(otherAuthority, "alpha", 2);

        var error = Assert.Throws<ArgumentException>(() => PeerCredentials.Create(certificate, _authority, 2, "--peer-cert r2.pem", "--peer-ca ca.pem"));

        Assert.Contains("--peer-cert r2.pem", error.Message, StringComparison.Ordinal);
        Assert.Contains("not issued by this cluster's CA", error.Message, StringComparison.Ordinal);
        Assert.Contains("--peer-ca ca.pem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_files_load_back_keys_are_private_and_an_existing_CA_key_is_not_replaced_unless_forced()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"synod-certs-{Guid.NewGuid():N}");
        try
        {
            var files = PeerCertificates.WriteDevelopmentSet(directory, "alpha", [1, 2, 3], ["db1.example", "10.0.0.5"], force: false);

            using (var loaded = PeerCredentials.Load(files.Certificate(2), files.Key(2), files.Authority, 2))
            {
                Assert.Equal(new PeerIdentity(2, "alpha"), loaded.Identity);
            }

            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.AuthorityKey));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.Key(2)));
            }

            var refused = Assert.Throws<ArgumentException>(() => PeerCertificates.WriteDevelopmentSet(directory, "alpha", [1], [], force: false));
            Assert.Contains("--force", refused.Message, StringComparison.Ordinal);
            var before = File.ReadAllText(files.AuthorityKey);
            PeerCertificates.WriteDevelopmentSet(directory, "alpha", [1], [], force: true);
            Assert.NotEqual(before, File.ReadAllText(files.AuthorityKey));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public void Dispose()
    {
        _replica1.Dispose();
        _authority.Dispose();
    }

    [Fact]
    public void A_replica_does_not_start_with_a_client_or_peer_certificate_that_has_expired_or_is_not_valid_yet()
    {
        var directory = Directory.CreateTempSubdirectory("synod-expired-").FullName;
        try
        {
            foreach (var (name, from, to) in new[] { ("expired", Now.AddDays(-30), Now.AddDays(-1)), ("future", Now.AddDays(1), Now.AddDays(30)) })
            {
                using var certificate = PeerCertificates.CreateReplica(_authority, "alpha", 1, ["127.0.0.1"], from, to);
                var (certificatePath, keyPath) = (Path.Combine(directory, $"{name}.pem"), Path.Combine(directory, $"{name}-key.pem"));
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
                File.WriteAllText(keyPath, certificate.GetECDsaPrivateKey()?.ExportPkcs8PrivateKeyPem() ?? certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

                var client = Assert.Throws<ArgumentException>(() => ClientTls.Load(certificatePath, keyPath, clientAuthorityPath: null));
                Assert.Contains($"--tls-cert {certificatePath} is not valid now", client.Message, StringComparison.Ordinal);
                var peer = Assert.Throws<ArgumentException>(() => TlsCertificatesOf(certificatePath, keyPath));
                Assert.Contains("--peer-cert", peer.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        static object TlsCertificatesOf(string certificate, string key) =>
            Synod.Protocol.TlsCertificates.LoadCertificateWithKey(certificate, key, "--peer-cert", "--peer-key");
    }

    private static X509Certificate2 Replica(X509Certificate2 authority, string cluster, int id) =>
        PeerCertificates.CreateReplica(authority, cluster, id, [], Now.AddDays(-1), Now.AddYears(1));
}
