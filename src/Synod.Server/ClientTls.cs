using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// TLS for clients on the replica's one port (`serve --tls-cert --tls-key`, and `--tls-client-ca` for mutual TLS):
/// the replica's certificate and key, and the CA a client certificate must chain to when one is required. Checked once
/// at start; peers keep their own certificates and handshake (<see cref="PeerCredentials"/>).
/// </summary>
public sealed class ClientTls : IDisposable
{
    private ClientTls(X509Certificate2 certificate, X509Certificate2Collection? clientAuthorities)
    {
        Certificate = certificate;
        ClientAuthorities = clientAuthorities;
    }

    /// <summary>What this replica shows clients.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CAs a client's certificate must chain to one of (mutual TLS), or null when clients show none.</summary>
    public X509Certificate2Collection? ClientAuthorities { get; }

    /// <exception cref="ArgumentException">A file is missing or unreadable, or a certificate does not fit its use; the message names the flag and why.</exception>
    public static ClientTls Load(string certificatePath, string keyPath, string? clientAuthorityPath)
    {
        var certificate = TlsCertificates.LoadCertificateWithKey(certificatePath, keyPath, "--tls-cert", "--tls-key");
        X509Certificate2Collection? authorities = null;
        try
        {
            if (certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } usage &&
                !usage.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(u => u.Value == TlsCertificates.ServerAuth.Value))
            {
                throw new ArgumentException($"--tls-cert {certificatePath} ('{certificate.Subject}') does not allow server authentication (extended key usage); give a server certificate, such as ./synod certs' replica-N.pem.");
            }

            if (clientAuthorityPath is not null)
            {
                authorities = TlsCertificates.LoadAuthorities(clientAuthorityPath, "--tls-client-ca");
            }

            return new ClientTls(certificate, authorities);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>Kestrel's TLS for the client port: TLS 1.2 or 1.3, HTTP/2 by ALPN, a handshake deadline, and a client certificate checked against the client CA when one is given.</summary>
    internal HttpsConnectionAdapterOptions HttpsOptions(TimeSpan handshakeTimeout) => new()
    {
        // The same deadline as a peer's first bytes and handshake (PeerHandshakeTimeoutMs), not Kestrel's 10 s.
        HandshakeTimeout = handshakeTimeout,
        ServerCertificate = Certificate,
        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateMode = ClientAuthorities is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
        CheckCertificateRevocation = false,
        // The system's verdict (system roots) does not apply: a client certificate must chain to the client CA alone.
        ClientCertificateValidation = (certificate, _, _) =>
            ClientAuthorities is { } authorities && TlsCertificates.ChainProblem(certificate, authorities, [TlsCertificates.ClientAuth]) is null,
    };

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var authority in ClientAuthorities ?? [])
        {
            authority.Dispose();
        }
    }
}
