using System.Net.Http;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Synod.Protocol;

namespace Synod.Client;

/// <summary>
/// TLS to the replicas (`--cacert`, and `--cert`/`--key` for a client certificate): the CAs their certificates must chain
/// to one of (null: the system's roots; several while a cluster moves to a new CA) and the certificate this client shows, if any. The replica's host name must be one its
/// certificate lists (`synod certs` lists localhost, 127.0.0.1 and any --hosts).
/// </summary>
public sealed record SynodClientTls(X509Certificate2Collection? Authorities, X509Certificate2? Certificate)
{
    /// <summary>The address a gRPC channel dials for "host:port": https with <paramref name="tls"/>, else http (h2c).</summary>
    public static string Address(string endpoint, SynodClientTls? tls) => $"{(tls is null ? "http" : "https")}://{endpoint}";

    /// <summary>Reads the PEM files a command line names; null paths are left out.</summary>
    /// <exception cref="ArgumentException">A file is missing or unreadable, or --cert comes without --key; the message names the flag.</exception>
    public static SynodClientTls FromPemFiles(string? authorityPath, string? certificatePath, string? keyPath)
    {
        if ((certificatePath is null) != (keyPath is null))
        {
            throw new ArgumentException("give --cert and --key together: a client certificate and its private key.");
        }

        var authorities = authorityPath is null ? null : TlsCertificates.LoadAuthorities(authorityPath, "--cacert");
        var certificate = certificatePath is null ? null : TlsCertificates.LoadCertificateWithKey(certificatePath, keyPath!, "--cert", "--key");
        return new SynodClientTls(authorities, certificate);
    }

    /// <summary>
    /// The handler of one gRPC channel: TLS as <paramref name="tls"/> says, plaintext (h2c) when it is null. Every channel
    /// to a replica (client, CLI probes, benchmarks, tests) is made with it, so all check a replica's certificate alike.
    /// </summary>
    public static SocketsHttpHandler Handler(SynodClientTls? tls) => new()
    {
        SslOptions = tls?.SslOptions() ?? new SslClientAuthenticationOptions(),
    };

    /// <summary>The TLS options of one replica's connection (for a gRPC channel's SocketsHttpHandler).</summary>
    public SslClientAuthenticationOptions SslOptions() => new()
    {
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificates = Certificate is null ? null : new X509CertificateCollection { Certificate },
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, errors) => Accepts(certificate, errors),
    };

    /// <summary>
    /// The replica's certificate must name the host dialled; with a CA given it must chain to that CA alone (the
    /// system's verdict, which knows only system roots, is then not used), else the system's verdict stands.
    /// </summary>
    public bool Accepts(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 presented || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        return Authorities is { } authorities
            ? TlsCertificates.ChainProblem(presented, authorities, [TlsCertificates.ServerAuth]) is null
            : errors == SslPolicyErrors.None;
    }
}
