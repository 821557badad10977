using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Synod.Core.Messages;

namespace Synod.Server;

/// <summary>
/// A long-lived TCP connection to one peer (<see cref="PeerWire"/> has the format). The owner loop enqueues a
/// Ready's messages and then kicks the link, which writes everything waiting with one send on the owner loop's own
/// thread: on loopback or a fast network the send completes at once, with no hand-off to another thread. Only when
/// the socket is full does the rest go out from the send's completion. When the peer is unreachable the link
/// reconnects with backoff, and the queue keeps only the newest messages: Paxos retransmits what matters.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private const int ReconnectDelayMsMin = 50;
    private const int ReconnectDelayMsMax = 250;

    /// <summary>A link up at least this long counts as healthy again: its next failure is retried at the shortest delay.</summary>
    private const int StableLinkMs = 1_000;

    /// <summary>How long connecting, and the peer's answer to the hello, may take before the attempt is given up.</summary>
    private const int ConnectTimeoutMs = 1_000;

    /// <summary>A send buffer grown past this (by catch-up batches or snapshot chunks) is let go after its send.</summary>
    private const int SendBufferKeptBytes = 256 * 1024;

    private readonly ServerOptions _options;
    private readonly int _peerId;
    private readonly string _endpoint;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Queue<Message> _pending = new();
    private readonly List<Message> _sendingNow = [];
    private ArrayBufferWriter<byte> _sendBuffer = new();
    private Socket? _socket;
    private bool _sending;
    private Task? _task;
    private bool _reportedDown;

    public PeerLink(ServerOptions options, int peerId, string endpoint, ILogger logger)
    {
        _options = options;
        _peerId = peerId;
        _endpoint = endpoint;
        _logger = logger;
    }

    public void Start(CancellationToken cancellation) => _task = Task.Run(() => RunAsync(cancellation), CancellationToken.None);

    /// <summary>Queues a message; <see cref="Kick"/> sends it. Beyond PeerQueueMessagesMax the oldest is dropped.</summary>
    public void Enqueue(Message message)
    {
        lock (_gate)
        {
            if (_pending.Count >= _options.PeerQueueMessagesMax)
            {
                _pending.Dequeue();
            }

            _pending.Enqueue(message);
        }
    }

    /// <summary>Starts sending what is queued, unless a send is under way already (its completion sends the rest) or the link is down.</summary>
    public void Kick()
    {
        Socket socket;
        lock (_gate)
        {
            if (_sending || _socket is null || _pending.Count == 0)
            {
                return;
            }

            _sending = true;
            socket = _socket;
        }

        _ = DrainAsync(socket);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _socket?.Dispose();
            _socket = null;
        }

        if (_task is not null)
        {
            await _task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sends until the queue is empty; runs on the kicking thread until a send cannot complete at once.</summary>
    private async Task DrainAsync(Socket socket)
    {
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_pending.Count == 0 || !ReferenceEquals(_socket, socket))
                    {
                        _sending = false;
                        break;
                    }

                    _sendingNow.AddRange(_pending);
                    _pending.Clear();
                }

                // Only one drain runs at a time (_sending), so the buffer and the list are this drain's alone.
                foreach (var message in _sendingNow)
                {
                    PeerWire.Write(_sendBuffer, PeerMessageCodec.Encode(message));
                }

                _sendingNow.Clear();
                var bytes = _sendBuffer.WrittenMemory;
                for (var sent = 0; sent < bytes.Length;)
                {
                    sent += await socket.SendAsync(bytes[sent..], SocketFlags.None);
                }

                if (_sendBuffer.Capacity > SendBufferKeptBytes)
                {
                    _sendBuffer = new ArrayBufferWriter<byte>();
                }
                else
                {
                    _sendBuffer.ResetWrittenCount();
                }
            }
        }
        catch (Exception e)
        {
            // The connection failed and what this send carried is lost, as on any network; Paxos retransmits. Drop the
            // socket, so that its reader (RunAsync) notices and reconnects, and sends resume on the new connection.
            if (e is not (SocketException or ObjectDisposedException))
            {
                _logger.LogError(e, "replica {Id}: sending to peer {Peer} failed; reconnecting.", _options.Id, _peerId);
            }

            _sendingNow.Clear();
            _sendBuffer.ResetWrittenCount();
            lock (_gate)
            {
                if (ReferenceEquals(_socket, socket))
                {
                    _socket = null;
                }

                _sending = false;
            }

            socket.Dispose();
        }

        // The link may have reconnected while this drain ran on the old socket: start on the new one.
        Kick();
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        var delayMs = ReconnectDelayMsMin;
        while (!cancellation.IsCancellationRequested)
        {
            Socket? socket = null;
            var connectedAt = 0L;
            try
            {
                socket = await ConnectAsync(cancellation);
                connectedAt = TimeProvider.System.GetTimestamp();
                if (_reportedDown)
                {
                    _logger.LogInformation("replica {Id}: connected to peer {Peer} at {Endpoint}.", _options.Id, _peerId, _endpoint);
                    _reportedDown = false;
                }

                lock (_gate)
                {
                    _socket = socket;
                }

                Kick();

                // The peer writes nothing after its answer, so this read returns only when the connection ends.
                var probe = new byte[1];
                var read = await socket.ReceiveAsync(probe, SocketFlags.None, cancellation);
                throw new IOException(read == 0 ? "the peer closed the connection" : "the peer sent bytes it should not have; closed the connection");
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException or ObjectDisposedException)
            {
                Detach(socket);
                // A link that had been up for a while retries quickly again; a link that fails soon after each connect
                // (a peer that resets it) keeps backing off.
                if (connectedAt != 0 && TimeProvider.System.GetElapsedTime(connectedAt).TotalMilliseconds > StableLinkMs)
                {
                    delayMs = ReconnectDelayMsMin;
                }

                if (!_reportedDown && !cancellation.IsCancellationRequested)
                {
                    _logger.LogInformation("replica {Id}: cannot reach peer {Peer} at {Endpoint} ({Reason}); retrying in the background.",
                        _options.Id, _peerId, _endpoint, e.Message);
                    _reportedDown = true;
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                Detach(socket);
                return;
            }

            await Task.Delay(delayMs, cancellation).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delayMs = Math.Min(delayMs * 2, ReconnectDelayMsMax);
        }
    }

    private void Detach(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        lock (_gate)
        {
            if (ReferenceEquals(_socket, socket))
            {
                _socket = null;
            }
        }

        socket.Dispose();
    }

    /// <summary>Connects, says hello and waits for the peer to accept; throws with the peer's reason if it refuses.</summary>
    private async Task<Socket> ConnectAsync(CancellationToken cancellation)
    {
        var (host, port) = SynodServer.SplitEndpoint(_endpoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            PeerWire.EnableKeepAlive(socket);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            deadline.CancelAfter(ConnectTimeoutMs);
            try
            {
                await socket.ConnectAsync(host, port, deadline.Token);
                await socket.SendAsync(PeerWire.Hello(_options.Id, _options.Endpoints.Count), SocketFlags.None, deadline.Token);
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                var answer = new byte[1];
                await stream.ReadExactlyAsync(answer, deadline.Token);
                if (answer[0] == PeerWire.Refused)
                {
                    var length = new byte[2];
                    await stream.ReadExactlyAsync(length, deadline.Token);
                    var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(length)];
                    await stream.ReadExactlyAsync(reason, deadline.Token);
                    throw new IOException($"refused: {System.Text.Encoding.UTF8.GetString(reason)}");
                }

                if (answer[0] != PeerWire.Accepted)
                {
                    throw new IOException("it did not answer as a Synod replica of this version would; check that every replica runs the same Synod version");
                }
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new TimeoutException($"no answer within {ConnectTimeoutMs} ms");
            }
            catch (EndOfStreamException)
            {
                throw new IOException("it closed the connection before answering; check that every replica runs the same Synod version");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
