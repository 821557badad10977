using System.Net;
using System.Net.Sockets;

namespace Synod.Chaos;

/// <summary>
/// A TCP forwarder on 127.0.0.1 to one target endpoint, which can be blocked and healed. Put one between two
/// processes and <see cref="Block"/> cuts the path as a failed network would: open connections are reset on both
/// sides at once, and new ones are accepted and reset straight away, so the connecting side sees a failure (not a
/// hang) and its own reconnect backoff applies. <see cref="Heal"/> lets new connections through again; it revives
/// none of the cut ones, since a real network does not either.
/// </summary>
public sealed class LinkProxy : IAsyncDisposable
{
    /// <summary>Buffer per direction of one connection; it bounds the memory a connection holds.</summary>
    public const int BufferBytes = 64 * 1024;

    /// <summary>Connections forwarded at once; one gRPC peer link needs one, a reconnect storm a few more.</summary>
    public const int ConnectionsMax = 64;

    /// <summary>How long a connection waits for the target to answer before it is given up and closed.</summary>
    public const int TargetConnectTimeoutMs = 1_000;

    /// <summary>Connections the kernel may hold before this proxy accepts them.</summary>
    private const int AcceptBacklogConnections = 64;

    /// <summary>Pause after an accept error (for example no file descriptors left), so the loop does not spin.</summary>
    private const int AcceptRetryDelayMs = 50;

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<ProxyConnection, Task> _open = [];
    private Task _acceptLoop = Task.CompletedTask;
    private bool _blocked;
    private bool _disposed;

    private LinkProxy(Socket listener, IPEndPoint target, string name)
    {
        _listener = listener;
        Target = target;
        Name = name;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>A label for logs, such as "1->2".</summary>
    public string Name { get; }

    public IPEndPoint Target { get; }

    /// <summary>The port this proxy listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Where to connect to reach the target through this proxy: "127.0.0.1:PORT".</summary>
    public string ListenEndpoint => $"127.0.0.1:{Port}";

    public LinkCounters Counters { get; } = new();

    public bool IsBlocked
    {
        get
        {
            lock (_gate)
            {
                return _blocked;
            }
        }
    }

    /// <summary>Connections being forwarded now.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>
    /// Starts a healed proxy listening on 127.0.0.1:<paramref name="listenPort"/> (0 picks a free port; see
    /// <see cref="Port"/>) that forwards to <paramref name="target"/>, which must be a loopback address.
    /// </summary>
    public static LinkProxy Start(IPEndPoint target, int listenPort = 0, string? name = null)
    {
        LoopbackEndpoint.Require(target, "the proxy target");
        if (listenPort is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(nameof(listenPort), listenPort,
                $"a proxy listens on a TCP port from {IPEndPoint.MinPort} (any free one) to {IPEndPoint.MaxPort}.");
        }

        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, listenPort));
            listener.Listen(AcceptBacklogConnections);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var proxy = new LinkProxy(listener, target, name ?? $"127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}->{target}");
        proxy._acceptLoop = Task.Run(proxy.AcceptLoopAsync);
        return proxy;
    }

    /// <summary>Cuts the link: resets every open connection on both sides, and resets new ones as they arrive.</summary>
    public void Block()
    {
        List<ProxyConnection> open;
        lock (_gate)
        {
            _blocked = true;
            open = [.. _open.Keys];
        }

        foreach (var connection in open)
        {
            if (connection.Abort())
            {
                Counters.CountCut();
            }
        }
    }

    /// <summary>Lets new connections through again.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _blocked = false;
        }
    }

    public override string ToString() => $"{Name} ({ListenEndpoint} -> {Target}, {(IsBlocked ? "blocked" : "open")}; {Counters})";

    /// <summary>Stops accepting, resets every open connection and waits for every task this proxy started.</summary>
    public async ValueTask DisposeAsync()
    {
        List<KeyValuePair<ProxyConnection, Task>> open;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            open = [.. _open];
        }

        await _stopping.CancelAsync();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var (connection, _) in open)
        {
            connection.Abort();
        }

        await Task.WhenAll(open.Select(c => c.Value)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection that failed before it was accepted is the connecting side's concern, and a shortage of
                // descriptors passes; either way, keep serving.
                await Task.Delay(AcceptRetryDelayMs, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            Counters.CountAccepted();
            Admit(client);
        }
    }

    private void Admit(Socket client)
    {
        lock (_gate)
        {
            if (!_blocked && !_disposed && _open.Count < ConnectionsMax && TryCreateConnection(client) is { } connection)
            {
                // The task removes itself under this lock, so it cannot finish before it has been added.
                _open.Add(connection, Task.Run(() => ForwardAsync(connection)));
                return;
            }
        }

        Counters.CountRefused();
        ProxyConnection.Reset(client);
    }

    private ProxyConnection? TryCreateConnection(Socket client)
    {
        try
        {
            return new ProxyConnection(client, Target, Counters);
        }
        catch (SocketException)
        {
            // No socket for the target (out of descriptors): refuse this one rather than stop accepting.
            return null;
        }
    }

    private async Task ForwardAsync(ProxyConnection connection)
    {
        try
        {
            await connection.RunAsync(_stopping.Token);
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(connection);
            }
        }
    }
}
