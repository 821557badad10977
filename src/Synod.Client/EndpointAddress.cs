using System.Diagnostics.CodeAnalysis;
using Synod.Protocol;

namespace Synod.Client;

/// <summary>Turns "host:port" into the address a gRPC channel dials ("http://host:port", or "https://host:port" with TLS).</summary>
public static class EndpointAddress
{
    public const int PortMin = HostPort.PortMin;
    public const int PortMax = HostPort.PortMax;

    /// <summary>
    /// Parses "host:port", "[ipv6]:port" included (<see cref="HostPort"/>). On failure <paramref name="problem"/> is a sentence that
    /// names the endpoint, says what is wrong and shows the expected form.
    /// </summary>
    public static bool TryParse(
        string? endpoint, [NotNullWhen(true)] out Uri? address, [NotNullWhen(false)] out string? problem, bool tls = false)
    {
        address = null;
        if (!HostPort.TryParse(endpoint, out var host, out var port, out problem))
        {
            return false;
        }

        address = new Uri($"{(tls ? "https" : "http")}://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}");
        return true;
    }
}
