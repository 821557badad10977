using System.Net;
using System.Net.Sockets;

namespace Synod.Chaos;

/// <summary>
/// One client connection forwarded by a <see cref="LinkProxy"/>: a socket to the target and two pumps, one per
/// direction, each with one bounded buffer. End of stream in one direction is passed on as a half-close; an error in
/// either direction, or <see cref="Abort"/>, resets both sockets, as a broken path would.
/// </summary>
internal sealed class ProxyConnection
{
    private readonly Socket _client;
    private readonly Socket _target;
    private readonly IPEndPoint _targetEndpoint;
    private readonly LinkCounters _counters;
    private int _closed;

    public ProxyConnection(Socket client, IPEndPoint targetEndpoint, LinkCounters counters)
    {
        _client = client;
        _targetEndpoint = targetEndpoint;
        _counters = counters;
        // Peer messages are small frames; holding them back for Nagle's algorithm would only add latency.
        _target = new Socket(targetEndpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _client.NoDelay = true;
    }

    /// <summary>Forwards until both directions end, either side fails, or the connection is aborted.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            if (!await ConnectTargetAsync(stopping))
            {
                return;
            }

            await Task.WhenAll(
                PumpAsync(_client, _target, _counters.AddBytesToTarget),
                PumpAsync(_target, _client, _counters.AddBytesFromTarget));
        }
        finally
        {
            Close(reset: false);
        }
    }

    /// <summary>Resets both sockets now. Returns false if the connection was already closed.</summary>
    public bool Abort() => Close(reset: true);

    /// <summary>Closes a socket with a reset (RST) rather than a goodbye (FIN), so the peer sees a failure at once.</summary>
    public static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The socket is already gone or broken; disposing it below is all that is left to do.
        }

        socket.Dispose();
    }

    private async Task<bool> ConnectTargetAsync(CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(LinkProxy.TargetConnectTimeoutMs);
        try
        {
            await _target.ConnectAsync(_targetEndpoint, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The target is down (or the link was cut while connecting): the client must see the failure too.
            if (Close(reset: true) && !stopping.IsCancellationRequested)
            {
                _counters.CountTargetConnectFailure();
            }

            return false;
        }
    }

    private async Task PumpAsync(Socket from, Socket to, Action<int> count)
    {
        var buffer = new byte[LinkProxy.BufferBytes];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    // A half-close must travel on, or a client that shuts its sending side would wait forever.
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                for (var sent = 0; sent < read;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None);
                }

                count(read);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // One side failed or the link was cut: the other direction cannot carry on alone over a broken path.
            Close(reset: true);
        }
    }

    private bool Close(bool reset)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        foreach (var socket in new[] { _client, _target })
        {
            if (reset)
            {
                Reset(socket);
            }
            else
            {
                socket.Dispose();
            }
        }

        return true;
    }
}
