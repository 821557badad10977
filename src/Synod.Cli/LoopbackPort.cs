using System.Net;
using System.Net.Sockets;

namespace Synod.Cli;

/// <summary>Whether a port on 127.0.0.1 is free: a listener can bind it now (it may be taken a moment later).</summary>
internal static class LoopbackPort
{
    public static bool IsFree(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
