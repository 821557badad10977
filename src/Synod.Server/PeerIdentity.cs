using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace Synod.Server;

/// <summary>
/// Who a replica certificate speaks for: its replica id and its cluster, read from the subject
/// (<c>CN=synod-replica-N, O=CLUSTER</c>, as <see cref="PeerCertificates"/> writes it). The subject, not a host name,
/// carries the identity, because peers may be reached through proxies and by addresses the certificate cannot know.
/// </summary>
public readonly record struct PeerIdentity(int Id, string Cluster)
{
    public const string CommonNamePrefix = "synod-replica-";

    private const string CommonNameOid = "2.5.4.3";
    private const string OrganizationOid = "2.5.4.10";

    public override string ToString() => $"replica {Id} of cluster '{Cluster}'";

    /// <summary>The identity a certificate names, or null with what is missing.</summary>
    public static PeerIdentity? Read(X509Certificate2 certificate, out string problem)
    {
        string? commonName = null;
        string? organization = null;
        foreach (var part in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (part.HasMultipleElements)
            {
                continue;
            }

            var type = part.GetSingleElementType().Value;
            if (type == CommonNameOid && !Take(ref commonName, part.GetSingleElementValue()) ||
                type == OrganizationOid && !Take(ref organization, part.GetSingleElementValue()))
            {
                problem = $"its subject '{certificate.Subject}' names more than one {(type == CommonNameOid ? "CN" : "O")}";
                return null;
            }
        }

        if (commonName is null || !commonName.StartsWith(CommonNamePrefix, StringComparison.Ordinal) ||
            !int.TryParse(commonName.AsSpan(CommonNamePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1)
        {
            problem = $"its subject '{certificate.Subject}' names no replica (CN={CommonNamePrefix}N)";
            return null;
        }

        if (string.IsNullOrEmpty(organization))
        {
            problem = $"its subject '{certificate.Subject}' names no cluster (O=NAME)";
            return null;
        }

        problem = "";
        return new PeerIdentity(id, organization);
    }

    private static bool Take(ref string? slot, string? value)
    {
        if (slot is not null)
        {
            return false;
        }

        slot = value ?? "";
        return true;
    }
}
