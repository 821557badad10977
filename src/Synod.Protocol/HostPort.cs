using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Synod.Protocol;

/// <summary>
/// The one parser of "host:port" endpoints, for clients, the command line and the server: a host name, an IPv4
/// address or a bracketed IPv6 address ("[::1]:7001"), and a port from 1 to 65535.
/// </summary>
public static class HostPort
{
    public const int PortMin = 1;
    public const int PortMax = 65535;

    /// <summary>
    /// Parses <paramref name="endpoint"/>; <paramref name="host"/> is an IPv6 address without its brackets. On failure
    /// <paramref name="problem"/> is a sentence that names the endpoint, says what is wrong and shows the expected form.
    /// </summary>
    public static bool TryParse(string? endpoint, [NotNullWhen(true)] out string? host, out int port, [NotNullWhen(false)] out string? problem)
    {
        host = null;
        port = 0;
        var text = endpoint?.Trim() ?? "";
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            problem = $"'{text}' is not HOST:PORT (for example 127.0.0.1:7001).";
            return false;
        }

        var hostText = text[..colon];
        var portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < PortMin or > PortMax)
        {
            problem = $"'{text}' has port '{portText}'; a port is a number from {PortMin} to {PortMax}.";
            port = 0;
            return false;
        }

        // A bare IPv6 address has colons of its own and must be bracketed to be told apart from the port.
        var bracketed = hostText.StartsWith('[') && hostText.EndsWith(']');
        if (hostText.Contains(':', StringComparison.Ordinal) && !bracketed)
        {
            problem = $"'{text}' looks like an IPv6 address without brackets; write it as [ADDRESS]:PORT, for example [::1]:7001.";
            port = 0;
            return false;
        }

        if (!Uri.TryCreate($"http://{hostText}:{port}", UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            problem = $"'{text}' has host '{hostText}', which is not a valid host name or IP address.";
            port = 0;
            return false;
        }

        host = bracketed ? hostText[1..^1] : hostText;
        problem = null;
        return true;
    }

    /// <summary>Whether <paramref name="host"/> (as <see cref="TryParse"/> gives it) is "localhost" or a loopback address, which no other machine reaches.</summary>
    public static bool IsLoopback(string host) =>
        host is "localhost" || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));
}
