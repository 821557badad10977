using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace Synod.Server;

/// <summary>
/// A development certificate authority and one certificate per replica, made with .NET's own cryptography (ECDSA
/// P-256), so that a cluster can authenticate its peers without OpenSSL or a PKI at hand. `synod certs`,
/// `synod cluster`, the chaos runner and the tests all make theirs here. A replica's certificate says who it is in its
/// subject (<see cref="PeerIdentity"/>); its host names only help tools that check them.
/// </summary>
public static partial class PeerCertificates
{
    public const string DefaultCluster = "synod";

    /// <summary>Development certificates outlive any test or demo cluster; production ones come from the operator's own CA.</summary>
    public static readonly TimeSpan DevelopmentValidity = TimeSpan.FromDays(3650);

    /// <summary>Clock skew between the machine that makes the certificates and the replicas that check them.</summary>
    private static readonly TimeSpan BackdateBy = TimeSpan.FromHours(1);

    private const int SerialBytes = 16;

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>Cluster names go into a certificate subject and a URI, so they keep to a plain alphabet.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    private static partial Regex ClusterNamePattern();

    /// <exception cref="ArgumentException">The name would not fit a certificate subject and a URI; the message says why.</exception>
    public static void CheckClusterName(string cluster)
    {
        if (!ClusterNamePattern().IsMatch(cluster))
        {
            throw new ArgumentException($"--cluster '{cluster}': use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }
    }

    /// <summary>A self-signed CA for one cluster, with its private key.</summary>
    public static X509Certificate2 CreateAuthority(string cluster, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        CheckClusterName(cluster);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(cluster);
        subject.AddCommonName($"synod development CA ({cluster})");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    /// <summary>
    /// Replica <paramref name="id"/>'s certificate, issued by <paramref name="authority"/> (which must hold its private
    /// key), with its own private key: subject <c>CN=synod-replica-N, O=CLUSTER</c>, a URI SAN
    /// <c>synod://CLUSTER/replica/N</c>, DNS localhost, IP 127.0.0.1 and every host given, for both ends of a TLS link.
    /// </summary>
    public static X509Certificate2 CreateReplica(X509Certificate2 authority, string cluster, int id, IEnumerable<string> hosts, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        CheckClusterName(cluster);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(cluster);
        subject.AddCommonName($"{PeerIdentity.CommonNamePrefix}{id}");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        request.CertificateExtensions.Add(AlternativeNames(cluster, id, hosts));
        var serial = RandomNumberGenerator.GetBytes(SerialBytes);
        serial[0] &= 0x7f; // a positive serial number, as RFC 5280 asks
        using var issued = request.Create(authority, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Writes a new CA and a certificate for each of <paramref name="ids"/> into <paramref name="directory"/>. An
    /// existing CA key is replaced only with <paramref name="force"/>: the certificates it signed stop being trusted by
    /// replicas given the new CA.
    /// </summary>
    /// <exception cref="ArgumentException">A CA key exists and <paramref name="force"/> is false, or a name is invalid.</exception>
    public static PeerCertificateFiles WriteDevelopmentSet(string directory, string cluster, IReadOnlyList<int> ids, IReadOnlyList<string> hosts, bool force)
    {
        CheckClusterName(cluster);
        var files = new PeerCertificateFiles(Path.GetFullPath(directory));
        if (File.Exists(files.AuthorityKey) && !force)
        {
            throw new ArgumentException($"{files.AuthorityKey} exists already; replacing it would make every certificate it signed untrusted. Use another --out, or --force to replace it.");
        }

        foreach (var host in hosts)
        {
            CheckHost(host);
        }

        Directory.CreateDirectory(files.Directory);
        var now = DateTimeOffset.UtcNow;
        using var authority = CreateAuthority(cluster, now - BackdateBy, now + DevelopmentValidity);
        WritePem(files.Authority, authority.ExportCertificatePem(), secret: false);
        WriteKey(files.AuthorityKey, authority);
        foreach (var id in ids)
        {
            WriteReplica(files, authority, cluster, id, hosts, now);
        }

        return files;
    }

    /// <summary>
    /// The certificates of a local cluster that keeps them between runs (`synod cluster`): reuses the CA in
    /// <paramref name="directory"/> and makes only the replica certificates that are missing; makes a new CA when there
    /// is none.
    /// </summary>
    public static PeerCertificateFiles EnsureDevelopmentSet(string directory, string cluster, IReadOnlyList<int> ids)
    {
        var files = new PeerCertificateFiles(Path.GetFullPath(directory));
        if (!File.Exists(files.Authority) || !File.Exists(files.AuthorityKey))
        {
            return WriteDevelopmentSet(directory, cluster, ids, [], force: true);
        }

        var missing = ids.Where(id => !File.Exists(files.Certificate(id)) || !File.Exists(files.Key(id))).ToList();
        if (missing.Count > 0)
        {
            using var authority = X509Certificate2.CreateFromPemFile(files.Authority, files.AuthorityKey);
            var existingCluster = ClusterOfAuthority(authority) ?? cluster;
            foreach (var id in missing)
            {
                WriteReplica(files, authority, existingCluster, id, [], DateTimeOffset.UtcNow);
            }
        }

        return files;
    }

    /// <summary>The longest client name a client certificate carries (its common name).</summary>
    public const int ClientNameCharsMax = 64;

    /// <summary>
    /// Writes client-NAME.pem and client-NAME-key.pem, a client certificate (CN=NAME, client authentication only)
    /// issued by the CA in <paramref name="directory"/>: for clients of replicas that require one (serve --tls-client-ca).
    /// </summary>
    /// <exception cref="ArgumentException">The folder holds no CA and key, or the name is not a plain name.</exception>
    public static (string Certificate, string Key) WriteClient(string directory, string name)
    {
        if (name.Length is 0 or > ClientNameCharsMax || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException($"--client '{name}': use 1 to {ClientNameCharsMax} letters, digits, '.', '_' or '-'.");
        }

        var files = new PeerCertificateFiles(Path.GetFullPath(directory));
        if (!File.Exists(files.Authority) || !File.Exists(files.AuthorityKey))
        {
            throw new ArgumentException($"--client needs the CA that issues it: {files.Authority} and {files.AuthorityKey} (./synod certs --out {directory} makes them).");
        }

        using var authority = X509Certificate2.CreateFromPemFile(files.Authority, files.AuthorityKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(name);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuth], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + DevelopmentValidity < authority.NotAfter ? now + DevelopmentValidity : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        var serial = RandomNumberGenerator.GetBytes(SerialBytes);
        serial[0] &= 0x7f;
        using var issued = request.Create(authority, now - BackdateBy, notAfter, serial);
        using var client = issued.CopyWithPrivateKey(key);
        var (certificatePath, keyPath) = (Path.Combine(files.Directory, $"client-{name}.pem"), Path.Combine(files.Directory, $"client-{name}-key.pem"));
        WritePem(certificatePath, client.ExportCertificatePem(), secret: false);
        WriteKey(keyPath, client);
        return (certificatePath, keyPath);
    }

    private static string? ClusterOfAuthority(X509Certificate2 authority) =>
        authority.SubjectName.EnumerateRelativeDistinguishedNames()
            .Where(part => !part.HasMultipleElements && part.GetSingleElementType().Value == "2.5.4.10")
            .Select(part => part.GetSingleElementValue())
            .FirstOrDefault();

    private static void WriteReplica(PeerCertificateFiles files, X509Certificate2 authority, string cluster, int id, IReadOnlyList<string> hosts, DateTimeOffset now)
    {
        // Never past the CA's own end: a certificate made later from a kept CA (a replica that joins) would be refused.
        var notAfter = now + DevelopmentValidity < authority.NotAfter ? now + DevelopmentValidity : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        using var replica = CreateReplica(authority, cluster, id, hosts, now - BackdateBy, notAfter);
        WritePem(files.Certificate(id), replica.ExportCertificatePem(), secret: false);
        WriteKey(files.Key(id), replica);
    }

    private static void WriteKey(string path, X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("a certificate made here lost its private key.");
        WritePem(path, key.ExportPkcs8PrivateKeyPem(), secret: true);
    }

    private static X509Extension AlternativeNames(string cluster, int id, IEnumerable<string> hosts)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri($"synod://{cluster}/replica/{id}"));
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1" };
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        foreach (var host in hosts.Select(h => h.Trim()).Where(seen.Add))
        {
            CheckHost(host);
            if (IPAddress.TryParse(host, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        return names.Build();
    }

    private static void CheckHost(string host)
    {
        var trimmed = host.Trim();
        if (!IPAddress.TryParse(trimmed, out _) && Uri.CheckHostName(trimmed) != UriHostNameType.Dns)
        {
            throw new ArgumentException($"--hosts: '{host}' is neither an IP address nor a DNS name.");
        }
    }

    /// <summary>Writes a PEM file; a key is created readable by its owner only (0600), never widened afterwards.</summary>
    private static void WritePem(string path, string pem, bool secret)
    {
        // A file that exists keeps its mode when overwritten, so a key is always created anew.
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(path, options);
        writer.Write(pem);
        writer.Write('\n');
    }
}
