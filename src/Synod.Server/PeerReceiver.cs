using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// The receiving end of peers' connections, as Kestrel connection middleware on the one listen port. A connection's
/// first bytes say what it is (<see cref="PeerWire.Classify"/>): a peer's is authenticated (TLS with the cluster's
/// certificates, then a hello in the certificate's own name), and its messages are decoded and posted to the owner
/// loop in order; an HTTP/2 client's, or anything else, goes on to Kestrel untouched.
/// </summary>
/// <remarks>
/// What a stranger can make a replica hold is bounded here: the first bytes and the whole handshake have a deadline
/// (PeerHandshakeTimeoutMs), handshakes under way are capped (PeerHandshakesMax), a peer id has one live link, a frame
/// that has begun must end within PeerFrameTimeoutMs, and memory grows with the bytes that arrive, never with the
/// length a frame announces.
/// </remarks>
internal sealed partial class PeerReceiver
{
    /// <summary>
    /// The receive buffer's segments: bytes are read into segments of this size as they arrive, so a message waits in
    /// at most its own size plus one segment, however long it claims to be.
    /// </summary>
    private const int ReadSegmentBytes = 64 * 1024;

    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: ReadSegmentBytes, minimumReadSize: ReadSegmentBytes / 4, leaveOpen: true);

    private readonly ReplicaHost _host;
    private readonly ServerOptions _options;

    /// <summary>The core's configuration, for checking each message against the peer message rules before it is queued.</summary>
    private readonly Core.ReplicaOptions _rules;
    private readonly RateLimitedLog _log;
    private readonly ResponseBudget _responses;
    private readonly Lock _inboundGate = new();
    private readonly Dictionary<int, InboundPeerLink> _inbound = [];
    private int _handshakes;

    public PeerReceiver(ReplicaHost host, ServerOptions options, ResponseBudget responses, ILogger<PeerReceiver> logger)
    {
        _responses = responses;
        _host = host;
        _options = options;
        // Any replica id may be a member's once membership changes; the handshake checks the id against the configurations known.
        _rules = options.ToReplicaOptions() with { MemberIdMax = Synod.Core.Configuration.ReplicaIdMax };
        _log = new RateLimitedLog(logger, TimeProvider.System, RateLimitedLog.DefaultInterval);
    }

    private int Id => _options.Id;

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var kind = await ClassifyAsync(connection);
        if (kind is ConnectionKind.Http2 && _options.ClientTls is not null)
        {
            // Clients of this replica speak TLS; a plaintext one is closed, and told why in the log.
            _log.Write(LogLevel.Warning, PeerLogKind.PlaintextClient,
                $"replica {Id} closed a plaintext HTTP/2 connection from {Remote(connection)}: it serves clients over TLS only (--tls-cert); the client needs its CA (--cacert).");
        }
        else if (kind is ConnectionKind.Http2)
        {
            await _responses.WatchAsync(connection, next);
        }
        else if (kind is ConnectionKind.Other)
        {
            await next(connection);
        }
        else if (kind is ConnectionKind.PlainPeer or ConnectionKind.TlsPeer)
        {
            await ServePeerAsync(connection, kind);
        }
        else if (kind is ConnectionKind.OtherPeerVersion)
        {
            await RefuseOtherVersionAsync(connection);
        }

        // NeedMore: closed, timed out, or the replica is stopping; returning closes the connection.
    }

    /// <summary>Waits, within PeerHandshakeTimeoutMs, until the first bytes say what the connection is; consumes none of them.</summary>
    private async Task<ConnectionKind> ClassifyAsync(ConnectionContext connection)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, _host.PeersClosing);
        deadline.CancelAfter(_options.PeerHandshakeTimeoutMs);
        var input = connection.Transport.Input;
        var seen = 0L;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(deadline.Token);
                seen = result.Buffer.Length;
                var kind = PeerWire.Classify(result.Buffer);
                // Nothing is consumed: HTTP/2, or the peer's reader, reads the same bytes from the start.
                input.AdvanceTo(result.Buffer.Start, kind == ConnectionKind.NeedMore ? result.Buffer.End : result.Buffer.Start);
                if (kind != ConnectionKind.NeedMore || result.IsCompleted || result.IsCanceled)
                {
                    return kind;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            if (!Closing(connection))
            {
                _log.Write(LogLevel.Warning, PeerLogKind.Unclassified,
                    $"replica {Id} closed a connection from {Remote(connection)} that sent {seen} bytes of a peer hello or an HTTP/2 preface and no more within {_options.PeerHandshakeTimeoutMs} ms (PeerHandshakeTimeoutMs).");
            }

            return ConnectionKind.NeedMore;
        }
    }

    /// <summary>
    /// A replica of another Synod build: says which peer protocol it spoke and which this one speaks, in the log and (if
    /// the other build reads refusals the same way) in its log too, and closes.
    /// </summary>
    private async Task RefuseOtherVersionAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAsync(connection.ConnectionClosed);
        var magic = new byte[PeerWire.MagicBytes];
        result.Buffer.Slice(0, PeerWire.MagicBytes).CopyTo(magic);
        input.AdvanceTo(result.Buffer.Start);
        var said = string.Concat(magic.Select(b => b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:x2}"));
        var reason = $"replica {Id} speaks peer protocol {Encoding.ASCII.GetString(PeerWire.TlsMagic)}/{Encoding.ASCII.GetString(PeerWire.Magic)}, " +
            $"and this connection began with {said}, another Synod build's: run the same Synod version on every replica.";
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, _host.PeersClosing);
        cancellation.CancelAfter(_options.PeerHandshakeTimeoutMs);
        try
        {
            await using var transport = new DuplexPipeStream(connection.Transport);
            await RefuseAsync(connection, transport, reason, cancellation.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The refusal is logged; that the other side did not take it changes nothing.
        }
    }

    private async Task ServePeerAsync(ConnectionContext connection, ConnectionKind kind)
    {
        if (Interlocked.Increment(ref _handshakes) > _options.PeerHandshakesMax)
        {
            Interlocked.Decrement(ref _handshakes);
            _log.Write(LogLevel.Warning, PeerLogKind.HandshakesFull,
                $"replica {Id} closed a peer connection from {Remote(connection)} at once: {_options.PeerHandshakesMax} handshakes were under way already (PeerHandshakesMax).");
            return;
        }

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, _host.PeersClosing);
        cancellation.CancelAfter(_options.PeerHandshakeTimeoutMs);
        await using var transport = new DuplexPipeStream(connection.Transport);
        await using var session = new PeerSession(transport);
        try
        {
            int? from;
            try
            {
                from = await HandshakeAsync(connection, kind, session, cancellation.Token);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                if (!Closing(connection))
                {
                    _log.Write(LogLevel.Warning, PeerLogKind.HandshakeTimeout,
                        $"replica {Id} closed a peer connection from {Remote(connection)}: its handshake did not finish within {_options.PeerHandshakeTimeoutMs} ms (PeerHandshakeTimeoutMs).");
                }

                return;
            }
            finally
            {
                Interlocked.Decrement(ref _handshakes);
            }

            if (from is { } peer)
            {
                cancellation.CancelAfter(Timeout.Infinite);
                await ReceiveLinkAsync(connection, peer, session.Reader!, cancellation);
            }
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            // The connection failed or was closed; the peer reconnects.
        }
    }

    private bool Closing(ConnectionContext connection) =>
        connection.ConnectionClosed.IsCancellationRequested || _host.PeersClosing.IsCancellationRequested;

    private static string Remote(ConnectionContext connection) => connection.RemoteEndPoint?.ToString() ?? "an unknown address";
}
