using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Synod.Tests.Chaos;

/// <summary>Client-side helpers for talking through a proxy with bounded waits.</summary>
public static class LoopbackSockets
{
    public static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var limit = new CancellationTokenSource(Eventually.Limit);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), limit.Token);
        return socket;
    }

    /// <summary>Sends <paramref name="text"/> and reads the same number of bytes back.</summary>
    public static async Task<string> RoundTripAsync(Socket socket, string text)
    {
        using var limit = new CancellationTokenSource(Eventually.Limit);
        var bytes = Encoding.UTF8.GetBytes(text);
        await socket.SendAsync(bytes, SocketFlags.None, limit.Token);
        var received = new byte[bytes.Length];
        for (var offset = 0; offset < received.Length;)
        {
            var read = await socket.ReceiveAsync(received.AsMemory(offset), SocketFlags.None, limit.Token);
            if (read == 0)
            {
                throw new IOException($"the connection closed after {offset} of {received.Length} echoed bytes.");
            }

            offset += read;
        }

        return Encoding.UTF8.GetString(received);
    }

    /// <summary>
    /// Whether a new connection to <paramref name="port"/> fails: the reset from a blocked proxy can beat the client's
    /// own notice that it connected, so the failure shows up either in the connect or in the first read.
    /// </summary>
    public static async Task<bool> NewConnectionFailsAsync(int port)
    {
        Socket socket;
        try
        {
            socket = await ConnectAsync(port);
        }
        catch (SocketException)
        {
            return true;
        }

        using (socket)
        {
            return await ClosedByPeerAsync(socket);
        }
    }

    /// <summary>Whether the other side closed or reset the connection (true) rather than sent data (false).</summary>
    public static async Task<bool> ClosedByPeerAsync(Socket socket)
    {
        using var limit = new CancellationTokenSource(Eventually.Limit);
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, limit.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
