using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Synod.Core.Messages;

namespace Synod.Server;

/// <summary>
/// A long-lived connection to one peer, TLS over TCP unless --insecure-peers (<see cref="PeerWire"/> has the format).
/// The owner loop enqueues a Ready's messages and then kicks the link, which writes everything waiting (a megabyte of
/// encoded messages per write) on the owner loop's own thread: on loopback or a fast network the write (and its
/// encryption) completes at once, with no hand-off to another thread. Only when the socket is full does the rest go out
/// from the write's completion.
/// When the peer is unreachable the link reconnects with backoff, and the queue keeps only the newest messages: Paxos
/// retransmits what matters.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private const int ReconnectDelayMsMin = 50;
    private const int ReconnectDelayMsMax = 250;

    /// <summary>A link up at least this long counts as healthy again: its next failure is retried at the shortest delay.</summary>
    private const int StableLinkMs = 1_000;

    /// <summary>
    /// How long the TCP connect may take before the attempt is given up; the handshake that follows (TLS and the
    /// hello) then has PeerHandshakeTimeoutMs, as on the receiving side.
    /// </summary>
    private const int ConnectTimeoutMs = 1_000;

    /// <summary>
    /// A send buffer grown past this (by a catch-up batch larger than it) is let go after its send. Below it the buffer
    /// is kept: a fresh megabyte costs this VM about 2.5 ms of page faults, so a buffer allocated per large message
    /// (a 1 MiB value's Accept, a snapshot chunk) was most of the cost of encoding it.
    /// </summary>
    private const int SendBufferKeptBytes = 4 * 1024 * 1024;

    /// <summary>Queued messages are written out once this many bytes of them are encoded, so several large ones do not grow the buffer past what is kept.</summary>
    private const int SendFlushBytes = 1024 * 1024;

    private readonly ServerOptions _options;
    private readonly int _peerId;
    private readonly string _endpoint;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Queue<Message> _pending = new();
    private readonly List<Message> _sendingNow = [];
    private ArrayBufferWriter<byte> _sendBuffer = new();
    private Socket? _socket;
    // The stream over _socket that messages are written to: an SslStream, or a NetworkStream with --insecure-peers.
    private Stream? _stream;
    private bool _sending;
    private Task? _task;
    private bool _reportedDown;
    private CancellationTokenSource? _cancellation;

    public PeerLink(ServerOptions options, int peerId, string endpoint, ILogger logger)
    {
        _options = options;
        _peerId = peerId;
        _endpoint = endpoint;
        _logger = logger;
    }

    /// <summary>The peer's host:port this link connects to.</summary>
    public string Endpoint => _endpoint;

    public void Start(CancellationToken cancellation)
    {
        // Its own source too: a link to a replica that left the cluster (or moved) is closed on its own.
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = _cancellation.Token;
        _task = Task.Run(() => RunAsync(token), CancellationToken.None);
    }

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
        Stream stream;
        lock (_gate)
        {
            if (_sending || _stream is null || _pending.Count == 0)
            {
                return;
            }

            _sending = true;
            stream = _stream;
        }

        _ = DrainAsync(stream);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cancellation is not null)
        {
            await _cancellation.CancelAsync();
        }

        lock (_gate)
        {
            // Closing the socket fails whatever read or write is under way; their owners then dispose the stream.
            _socket?.Dispose();
            _socket = null;
            _stream = null;
        }

        if (_task is not null)
        {
            await _task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Sends until the queue is empty; runs on the kicking thread until a send cannot complete at once.</summary>
    private async Task DrainAsync(Stream stream)
    {
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_pending.Count == 0 || !ReferenceEquals(_stream, stream))
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
                    if (_sendBuffer.WrittenCount >= SendFlushBytes)
                    {
                        await stream.WriteAsync(_sendBuffer.WrittenMemory);
                        _sendBuffer.ResetWrittenCount();
                    }
                }

                _sendingNow.Clear();
                if (_sendBuffer.WrittenCount > 0)
                {
                    await stream.WriteAsync(_sendBuffer.WrittenMemory);
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
            // The connection failed and what this write carried is lost, as on any network; Paxos retransmits. Close
            // the socket, so that its reader (RunAsync) notices and reconnects, and writes resume on the new connection.
            if (e is not (SocketException or IOException or ObjectDisposedException))
            {
                _logger.LogError(e, "replica {Id}: sending to peer {Peer} failed; reconnecting.", _options.Id, _peerId);
            }

            _sendingNow.Clear();
            _sendBuffer.ResetWrittenCount();
            Socket? socket = null;
            lock (_gate)
            {
                if (ReferenceEquals(_stream, stream))
                {
                    socket = _socket;
                    _socket = null;
                    _stream = null;
                }

                _sending = false;
            }

            socket?.Dispose();
        }

        // The link may have reconnected while this drain ran on the old socket: start on the new one.
        Kick();
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        var delayMs = ReconnectDelayMsMin;
        while (!cancellation.IsCancellationRequested)
        {
            (Socket Socket, Stream Stream)? connection = null;
            var connectedAt = 0L;
            try
            {
                connection = await ConnectAsync(cancellation);
                connectedAt = TimeProvider.System.GetTimestamp();
                if (_reportedDown)
                {
                    _logger.LogInformation("replica {Id}: connected to peer {Peer} at {Endpoint}.", _options.Id, _peerId, _endpoint);
                    _reportedDown = false;
                }

                lock (_gate)
                {
                    (_socket, _stream) = connection.Value;
                }

                Kick();

                // The peer writes nothing after its answer, so this read returns only when the connection ends. Over TLS
                // it also takes in what TLS itself sends after the handshake (session tickets), which carries no data.
                var probe = new byte[1];
                var read = await connection.Value.Stream.ReadAsync(probe, cancellation);
                throw new IOException(read == 0 ? "the peer closed the connection" : "the peer sent bytes it should not have; closed the connection");
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException or ObjectDisposedException or AuthenticationException)
            {
                Detach(connection);
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
                Detach(connection);
                return;
            }

            await Task.Delay(delayMs, cancellation).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delayMs = Math.Min(delayMs * 2, ReconnectDelayMsMax);
        }
    }

    private void Detach((Socket Socket, Stream Stream)? connection)
    {
        if (connection is not var (socket, stream))
        {
            return;
        }

        lock (_gate)
        {
            if (ReferenceEquals(_stream, stream))
            {
                _socket = null;
                _stream = null;
            }
        }

        socket.Dispose();
        stream.Dispose();
    }

    /// <summary>
    /// Connects and runs the handshake: TLS with this replica's certificate, checking that the peer's names the
    /// replica dialled, then the hello; throws with the peer's reason if it refuses.
    /// </summary>
    private async Task<(Socket Socket, Stream Stream)> ConnectAsync(CancellationToken cancellation)
    {
        var (host, port) = SynodServer.SplitEndpoint(_endpoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        var phase = $"no connection within {ConnectTimeoutMs} ms";
        try
        {
            PeerWire.EnableKeepAlive(socket);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            deadline.CancelAfter(ConnectTimeoutMs);
            try
            {
                await socket.ConnectAsync(host, port, deadline.Token);
                deadline.CancelAfter(_options.PeerHandshakeTimeoutMs);
                phase = $"no answer to the handshake within {_options.PeerHandshakeTimeoutMs} ms";
                stream = new NetworkStream(socket, ownsSocket: true);
                if (_options.PeerCredentials is { } credentials)
                {
                    stream = await StartTlsAsync(stream, credentials, host, deadline.Token);
                }

                await stream.WriteAsync(PeerWire.Hello(_options.Id, _options.InitialVoterIds.Count, _options.ClusterId), deadline.Token);
                await PeerWire.ReadAnswerAsync(stream, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new TimeoutException(phase);
            }
            catch (EndOfStreamException)
            {
                throw new IOException("it closed the connection before answering; check that every replica runs the same Synod version and trusts the same CA (its log says why)");
            }

            return (socket, stream);
        }
        catch
        {
            stream?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Says that TLS follows, waits for the peer to agree, and runs the handshake as the TLS client.</summary>
    private async Task<SslStream> StartTlsAsync(Stream plain, PeerCredentials credentials, string host, CancellationToken cancellation)
    {
        await plain.WriteAsync(PeerWire.TlsMagic.ToArray(), cancellation);
        await PeerWire.ReadAnswerAsync(plain, cancellation);
        var tls = new SslStream(plain, leaveInnerStreamOpen: false);
        var check = new PeerTlsCheck();
        try
        {
            await tls.AuthenticateAsClientAsync(credentials.ClientOptions(host, _peerId, check), cancellation);
            return tls;
        }
        catch (AuthenticationException e)
        {
            await tls.DisposeAsync();
            throw new IOException($"the TLS handshake failed: {check.Problem ?? e.Message}", e);
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }
}
