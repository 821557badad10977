using System.Net;

namespace Synod.Chaos;

/// <summary>Parses host:port for the chaos tools, which refuse any address that is not this machine's loopback.</summary>
internal static class LoopbackEndpoint
{
    public static IPEndPoint Parse(string text, string what)
    {
        var candidate = text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
            ? $"127.0.0.1{text["localhost".Length..]}"
            : text;
        if (!IPEndPoint.TryParse(candidate, out var endpoint) || endpoint.Port == 0)
        {
            throw new ArgumentException($"{what} '{text}' is not IP:PORT with a port above 0 (for example 127.0.0.1:7001).");
        }

        Require(endpoint, what);
        return endpoint;
    }

    public static void Require(IPEndPoint endpoint, string what)
    {
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            throw new ArgumentException(
                $"{what} {endpoint} is not a loopback address; the chaos tools only cut traffic between processes on this machine (127.0.0.1), " +
                "so that a mistake can never disturb another host.");
        }
    }
}
