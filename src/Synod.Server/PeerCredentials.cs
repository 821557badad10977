using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// A replica's own certificate and key and its cluster's CA, checked once at start, and the rules every peer's
/// certificate must pass: it chains to this CA alone (no system roots, no revocation lookups: the CA is the cluster's
/// own), it is valid now and for its side of the handshake, it names this cluster, and where the replica id is known
/// in advance (the dialer knows whom it dialled) it names that replica. Host names are not checked, since peers may
/// be reached through proxies and addresses the certificate cannot list.
/// </summary>
public sealed class PeerCredentials : IDisposable
{
    private static readonly Oid ServerAuth = TlsCertificates.ServerAuth;
    private static readonly Oid ClientAuth = TlsCertificates.ClientAuth;
    private const string ClusterCa = "this cluster's CA";

    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2Collection _authorities;
    private readonly SslStreamCertificateContext _context;

    private PeerCredentials(X509Certificate2 certificate, X509Certificate2Collection authorities, PeerIdentity identity)
    {
        _certificate = certificate;
        _authorities = authorities;
        Identity = identity;
        _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
    }

    /// <summary>This replica's id and cluster, as its own certificate names them.</summary>
    public PeerIdentity Identity { get; }

    /// <summary>
    /// Reads the PEM files given to `synod serve` and checks that the certificate chains to the CA and is replica
    /// <paramref name="id"/>'s.
    /// </summary>
    /// <exception cref="ArgumentException">A file is missing or unreadable, or the certificate does not fit; the message names the file and why.</exception>
    public static PeerCredentials Load(string certificatePath, string keyPath, string authorityPath, int id)
    {
        var authorities = TlsCertificates.LoadAuthorities(authorityPath, "--peer-ca");
        X509Certificate2 certificate;
        try
        {
            certificate = TlsCertificates.LoadCertificateWithKey(certificatePath, keyPath, "--peer-cert", "--peer-key");
        }
        catch
        {
            Dispose(authorities);
            throw;
        }

        try
        {
            return Create(certificate, authorities, id, $"--peer-cert {certificatePath}", $"--peer-ca {authorityPath}");
        }
        catch
        {
            certificate.Dispose();
            Dispose(authorities);
            throw;
        }
    }

    /// <summary>Credentials from certificates already in memory (the certificate with its private key).</summary>
    /// <param name="certificateName">How an error names the certificate, for example "--peer-cert FILE".</param>
    /// <param name="authorityName">How an error names the CA.</param>
    /// <exception cref="ArgumentException">The certificate does not chain to the CA, or is not replica <paramref name="id"/>'s.</exception>
    public static PeerCredentials Create(X509Certificate2 certificate, X509Certificate2 authority, int id, string certificateName, string authorityName) =>
        Create(certificate, [authority], id, certificateName, authorityName);

    /// <summary>Credentials that trust every CA of <paramref name="authorities"/> (a cluster moving from one CA to another).</summary>
    /// <exception cref="ArgumentException">A CA is no CA, the certificate chains to none of them, or is not replica <paramref name="id"/>'s.</exception>
    public static PeerCredentials Create(X509Certificate2 certificate, X509Certificate2Collection authorities, int id, string certificateName, string authorityName)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"{certificateName} comes without its private key.");
        }

        if (authorities.Count == 0)
        {
            throw new ArgumentException($"{authorityName} holds no CA certificate; give the cluster's ca.pem.");
        }

        if (authorities.FirstOrDefault(a => !TlsCertificates.IsAuthority(a)) is { } notAuthority)
        {
            throw new ArgumentException($"{authorityName} ('{notAuthority.Subject}') is not a CA certificate; give the cluster's ca.pem.");
        }

        if (PeerIdentity.Read(certificate, out var problem) is not { } identity)
        {
            throw new ArgumentException($"{certificateName} is not a Synod replica certificate: {problem}.");
        }

        if (TlsCertificates.ChainProblem(certificate, authorities, [ServerAuth, ClientAuth], ClusterCa) is { } chainProblem)
        {
            throw new ArgumentException($"{certificateName} ({identity}) {chainProblem} (checked against {authorityName}).");
        }

        if (identity.Id != id)
        {
            throw new ArgumentException($"{certificateName} is replica {identity.Id}'s certificate (CN={PeerIdentity.CommonNamePrefix}{identity.Id}), but this is --id {id}; give replica {id}'s certificate and key.");
        }

        return new PeerCredentials(certificate, authorities, identity);
    }

    /// <summary>
    /// Why a peer's certificate is not acceptable, or null when it is: it must chain to this cluster's CA, be valid
    /// now for <paramref name="role"/>, name this cluster, and name replica <paramref name="expectedId"/> if given.
    /// </summary>
    public string? CheckPeer(X509Certificate2 certificate, TlsRole role, int? expectedId)
    {
        if (TlsCertificates.ChainProblem(certificate, _authorities, [role == TlsRole.Server ? ServerAuth : ClientAuth], ClusterCa) is { } chainProblem)
        {
            return $"its certificate ('{certificate.Subject}') {chainProblem}";
        }

        if (PeerIdentity.Read(certificate, out var problem) is not { } identity)
        {
            return $"its certificate is not a Synod replica certificate: {problem}";
        }

        if (identity.Cluster != Identity.Cluster)
        {
            return $"its certificate is {identity}, and this is cluster '{Identity.Cluster}'";
        }

        if (expectedId is { } id && identity.Id != id)
        {
            return $"its certificate is replica {identity.Id}'s, but replica {id} was dialled; check --peers on replica {Identity.Id}";
        }

        return null;
    }

    internal SslServerAuthenticationOptions ServerOptions(PeerTlsCheck check) => new()
    {
        ServerCertificateContext = _context,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        // A resumed session skips the client's certificate, and with it the identity this link is checked against.
        AllowTlsResume = false,
        CertificateChainPolicy = TlsCertificates.ChainPolicy(_authorities, [ClientAuth]),
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Judge(certificate, TlsRole.Client, expectedId: null, check),
    };

    internal SslClientAuthenticationOptions ClientOptions(string targetHost, int peerId, PeerTlsCheck check) => new()
    {
        TargetHost = targetHost,
        ClientCertificateContext = _context,
        EnabledSslProtocols = SslProtocols.Tls13,
        AllowTlsResume = false,
        CertificateChainPolicy = TlsCertificates.ChainPolicy(_authorities, [ServerAuth]),
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Judge(certificate, TlsRole.Server, peerId, check),
    };

    /// <summary>
    /// TLS for this replica's own calls to the other replicas' client port (the dashboard asks each for its status): their
    /// certificate must chain to the cluster's CA, and this replica shows its peer certificate if they ask for one.
    /// </summary>
    internal SslClientAuthenticationOptions ClientPortOptions() => new()
    {
        ClientCertificateContext = _context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateChainPolicy = TlsCertificates.ChainPolicy(_authorities, [ServerAuth]),
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is X509Certificate2 presented && TlsCertificates.ChainProblem(presented, _authorities, [ServerAuth]) is null,
    };

    public void Dispose()
    {
        _certificate.Dispose();
        Dispose(_authorities);
    }

    private static void Dispose(X509Certificate2Collection certificates)
    {
        foreach (var certificate in certificates)
        {
            certificate.Dispose();
        }
    }

    /// <summary>
    /// SslStream's own verdict is not used: it counts a host-name mismatch, which does not apply here, and says
    /// nothing about the replica id. The chain is built again with the same policy, so what runs here is what the
    /// unit tests check through <see cref="CheckPeer"/>.
    /// </summary>
    private bool Judge(X509Certificate? certificate, TlsRole role, int? expectedId, PeerTlsCheck check)
    {
        if (certificate is not X509Certificate2 presented)
        {
            check.Problem = "it presented no certificate";
            return false;
        }

        check.Problem = CheckPeer(presented, role, expectedId);
        check.Identity = check.Problem is null ? PeerIdentity.Read(presented, out _) : null;
        return check.Problem is null;
    }
}
