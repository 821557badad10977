using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Synod.Client;

/// <summary>Turns "host:port" into the h2c address a gRPC channel dials ("http://host:port").</summary>
public static class EndpointAddress
{
    public const int PortMin = 1;
    public const int PortMax = 65535;

    /// <summary>
    /// Parses "host:port", "[ipv6]:port" included. On failure <paramref name="problem"/> is a sentence that
    /// names the endpoint, says what is wrong and shows the expected form.
    /// </summary>
    public static bool TryParse(
        string? endpoint, [NotNullWhen(true)] out Uri? address, [NotNullWhen(false)] out string? problem)
    {
        address = null;
        var text = endpoint?.Trim() ?? "";
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            problem = $"'{text}' is not HOST:PORT (for example 127.0.0.1:7001).";
            return false;
        }

        var host = text[..colon];
        var portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < PortMin or > PortMax)
        {
            problem = $"'{text}' has port '{portText}'; a port is a number from {PortMin} to {PortMax}.";
            return false;
        }

        // A bare IPv6 address has colons of its own and must be bracketed to be told apart from the port.
        if (host.Contains(':', StringComparison.Ordinal) && !(host.StartsWith('[') && host.EndsWith(']')))
        {
            problem = $"'{text}' looks like an IPv6 address without brackets; write it as [ADDRESS]:PORT, for example [::1]:7001.";
            return false;
        }

        if (!Uri.TryCreate($"http://{host}:{port}", UriKind.Absolute, out address) || address.Host.Length == 0)
        {
            problem = $"'{text}' has host '{host}', which is not a valid host name or IP address.";
            address = null;
            return false;
        }

        problem = null;
        return true;
    }
}
