using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Synod.Chaos;

/// <summary>
/// Loopback ports for the replicas, chosen below the system's ephemeral range when it can be read. A killed replica
/// leaves its port free until it restarts; a port from the ephemeral range could meanwhile become the source port of
/// some outgoing connection (the clients open many), and the restart would then fail with "address in use".
/// </summary>
internal static class ReplicaPorts
{
    private const string EphemeralRangePath = "/proc/sys/net/ipv4/ip_local_port_range";

    /// <summary>The lowest port considered: above the well-known and most registered service ports.</summary>
    private const int PortMin = 10_000;

    private const int TriesMax = 1_000;

    /// <summary>
    /// Binds <paramref name="count"/> free loopback ports and returns their listeners, still bound, so that nothing
    /// else (the link proxies start next) can take them; stop the listeners just before the replicas start.
    /// </summary>
    public static List<TcpListener> Reserve(int count)
    {
        var listeners = new List<TcpListener>();
        var below = EphemeralStart();
        for (var tries = 0; listeners.Count < count && tries < TriesMax; tries++)
        {
            var port = below > PortMin + count ? Random.Shared.Next(PortMin, below) : 0;
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                listeners.Add(listener);
            }
            catch (SocketException)
            {
                listener.Dispose();
            }
        }

        if (listeners.Count < count)
        {
            listeners.ForEach(l => l.Stop());
            throw new InvalidOperationException($"could not find {count} free loopback ports in {TriesMax} tries.");
        }

        return listeners;
    }

    public static int Port(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>The first ephemeral port, or 0 when the system does not say (then ports are left to the system).</summary>
    private static int EphemeralStart()
    {
        try
        {
            var first = File.ReadAllText(EphemeralRangePath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0];
            return int.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
