using System.Net;
using System.Net.Sockets;

namespace Synod.Tests.Chaos;

/// <summary>A tiny TCP echo server on a free loopback port, the target behind a proxy under test.</summary>
public sealed class EchoServer : IAsyncDisposable
{
    private const int BufferBytes = 4096;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _open;

    public EchoServer()
    {
        _listener.Start();
        Endpoint = (IPEndPoint)_listener.LocalEndpoint;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint Endpoint { get; }

    public int ConnectionsAccepted => Volatile.Read(ref _accepted);

    public int OpenConnections => Volatile.Read(ref _open);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stopping.Token);
            Interlocked.Increment(ref _accepted);
            Interlocked.Increment(ref _open);
            lock (_connections)
            {
                _connections.Add(EchoAsync(socket));
            }
        }
    }

    private async Task EchoAsync(Socket socket)
    {
        using (socket)
        {
            var buffer = new byte[BufferBytes];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // A reset from the proxy ends the connection just as a clean close does.
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        }
    }
}
