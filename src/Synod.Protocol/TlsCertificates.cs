using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Synod.Protocol;

/// <summary>
/// What replicas and clients share about certificates: reading PEM files with a sentence that names the flag and the
/// file when one is wrong, and checking that a certificate chains to one given CA (no system roots, no revocation
/// lookups: the CA is the operator's own) for the purposes its side of a handshake needs.
/// </summary>
public static class TlsCertificates
{
    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>
    /// Every PEM certificate in a CA file: one CA, or several while a cluster moves from one CA to another (each must be a
    /// CA certificate). A certificate chaining to any of them is trusted.
    /// </summary>
    /// <exception cref="ArgumentException">The file is missing, holds no PEM certificate, or one that is not a CA's; the message names <paramref name="flag"/>.</exception>
    public static X509Certificate2Collection LoadAuthorities(string path, string flag)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{flag} {path}: no such file (make certificates with ./synod certs --out DIR).");
        }

        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"{flag} {path} holds no PEM certificate ({e.Message}).", e);
        }

        if (authorities.Count == 0)
        {
            throw new ArgumentException($"{flag} {path} holds no PEM certificate.");
        }

        if (authorities.FirstOrDefault(a => !IsAuthority(a)) is { } other)
        {
            throw new ArgumentException($"{flag} {path} holds '{other.Subject}', which is not a CA certificate; give the CA's certificate (ca.pem).");
        }

        return authorities;
    }

    /// <summary>A PEM certificate with its PEM private key, in a form TLS can use on every platform.</summary>
    /// <exception cref="ArgumentException">A file is missing, or they are not a certificate and its key; the message names the flags.</exception>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath, string certificateFlag, string keyFlag)
    {
        foreach (var (flag, path) in new[] { (certificateFlag, certificatePath), (keyFlag, keyPath) })
        {
            if (!File.Exists(path))
            {
                throw new ArgumentException($"{flag} {path}: no such file (make certificates with ./synod certs --out DIR).");
            }
        }

        X509Certificate2 certificate;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            // A key read from PEM is ephemeral, which TLS on some platforms refuses; a PKCS#12 round trip makes it a key TLS can use everywhere.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"{certificateFlag} {certificatePath} and {keyFlag} {keyPath} are not a PEM certificate and its private key ({e.Message}).", e);
        }

        // Every other side would refuse it at the handshake: say so once, at start, naming the file and the dates.
        var now = DateTime.UtcNow;
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            var validity = $"valid from {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}";
            certificate.Dispose();
            throw new ArgumentException($"{certificateFlag} {certificatePath} is not valid now ({now:u}): it is {validity}. Make a new one (./synod certs --out DIR, keeping the CA) and restart.");
        }

        return certificate;
    }

    /// <summary>A chain policy that trusts <paramref name="authorities"/> alone and asks for every one of <paramref name="purposes"/>.</summary>
    public static X509ChainPolicy ChainPolicy(IEnumerable<X509Certificate2> authorities, IEnumerable<Oid> purposes)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(authorities.ToArray());
        foreach (var purpose in purposes)
        {
            policy.ApplicationPolicy.Add(purpose);
        }

        return policy;
    }

    /// <summary>
    /// Why <paramref name="certificate"/> does not chain to one of <paramref name="authorities"/> for every purpose given, or null;
    /// the sentence calls the CA <paramref name="authorityName"/>.
    /// </summary>
    public static string? ChainProblem(X509Certificate2 certificate, IEnumerable<X509Certificate2> trusted, IReadOnlyList<Oid> purposes, string authorityName = "this CA")
    {
        var authorities = trusted.ToList();
        using var chain = new X509Chain { ChainPolicy = ChainPolicy(authorities, purposes) };
        var built = chain.Build(certificate);
        var root = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate : null;
        if (built && root is not null && authorities.Any(authority => root.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span)))
        {
            return null;
        }

        var authority = authorities.FirstOrDefault(a => a.Subject == certificate.Issuer) ?? authorities[0];

        var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, status) => all | status.Status);
        const X509ChainStatusFlags OtherIssuer = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid;
        if ((flags & OtherIssuer) != 0 || (built && root is not null))
        {
            return certificate.Issuer == authority.Subject
                ? $"was not issued by {authorityName}, but by another CA of the same name ('{authority.Subject}'), such as one from another run of ./synod certs"
                : $"was not issued by {authorityName} ('{authority.Subject}'); its issuer is '{certificate.Issuer}'";
        }

        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            return $"is not valid now: it is valid from {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}";
        }

        if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            return $"does not allow {string.Join(" and ", purposes.Select(p => p.FriendlyName ?? p.Value))} (extended key usage)";
        }

        return $"does not chain to {authorityName}: {string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()))}";
    }

    /// <summary>Whether <paramref name="authority"/> is a CA certificate at all.</summary>
    public static bool IsAuthority(X509Certificate2 authority) =>
        authority.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
}
