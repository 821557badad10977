using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Synod.Core.Messages;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>
/// A long-lived client stream to one peer. The owner loop only enqueues; this link's task packs whatever is
/// waiting into one frame (up to PeerFrameMessagesMax messages) and writes it. When the peer is unreachable the
/// link reconnects with backoff, and the queue keeps only the newest messages: Paxos retransmits what matters.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private const int ReconnectDelayMsMin = 50;
    private const int ReconnectDelayMsMax = 250;

    private readonly ServerOptions _options;
    private readonly int _peerId;
    private readonly string _endpoint;
    private readonly ILogger _logger;
    private readonly Channel<Message> _queue;
    private GrpcChannel? _channel;
    private Task? _task;
    private bool _reportedDown;
    private long _connectedAt;

    /// <summary>A link up at least this long counts as healthy again: its next failure is retried at the shortest delay.</summary>
    private const int StableLinkMs = 1_000;

    public PeerLink(ServerOptions options, int peerId, string endpoint, ILogger logger)
    {
        _options = options;
        _peerId = peerId;
        _endpoint = endpoint;
        _logger = logger;
        _queue = Channel.CreateBounded<Message>(new BoundedChannelOptions(options.PeerQueueMessagesMax)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
    }

    public void Start(CancellationToken cancellation) => _task = Task.Run(() => RunAsync(cancellation), CancellationToken.None);

    public void Enqueue(Message message) => _queue.Writer.TryWrite(message);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_task is not null)
        {
            await _task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _channel?.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        var delayMs = ReconnectDelayMsMin;
        _channel = GrpcChannel.ForAddress($"http://{_endpoint}", new GrpcChannelOptions
        {
            MaxSendMessageSize = _options.PeerFrameBytesMax,
            // gRPC's own reconnect backoff starts at 1 s and grows to 2 minutes: far too slow for a peer that was
            // restarting. Keep it short, as the link's own retry loop is.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(ReconnectDelayMsMin),
            MaxReconnectBackoff = TimeSpan.FromMilliseconds(ReconnectDelayMsMax),
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = false,
                ConnectTimeout = TimeSpan.FromSeconds(1),
                KeepAlivePingDelay = TimeSpan.FromSeconds(5),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            },
        });
        var client = new Peer.PeerClient(_channel);
        while (!cancellation.IsCancellationRequested)
        {
            try
            {
                await StreamAsync(client, cancellation);
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                // A link that had been up for a while retries quickly again; a link that fails soon after each connect
                // (a peer that resets it) keeps backing off.
                if (!_reportedDown && TimeProvider.System.GetElapsedTime(_connectedAt).TotalMilliseconds > StableLinkMs)
                {
                    delayMs = ReconnectDelayMsMin;
                }

                if (!_reportedDown)
                {
                    _logger.LogInformation("replica {Id}: cannot reach peer {Peer} at {Endpoint} ({Reason}); retrying in the background.",
                        _options.Id, _peerId, _endpoint, e.Message);
                    _reportedDown = true;
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return;
            }

            await Task.Delay(delayMs, cancellation).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delayMs = Math.Min(delayMs * 2, ReconnectDelayMsMax);
        }
    }

    private async Task StreamAsync(Peer.PeerClient client, CancellationToken cancellation)
    {
        using var call = client.Exchange(cancellationToken: cancellation);
        var reader = _queue.Reader;
        var first = true;
        while (await reader.WaitToReadAsync(cancellation))
        {
            var frame = new PeerFrame { From = (uint)_options.Id, ClusterSize = (uint)_options.Endpoints.Count };
            while (frame.Messages.Count < _options.PeerFrameMessagesMax && reader.TryRead(out var message))
            {
                frame.Messages.Add(PeerMessageCodec.Encode(message));
            }

            await call.RequestStream.WriteAsync(frame, cancellation);
            if (first && _reportedDown)
            {
                _logger.LogInformation("replica {Id}: connected to peer {Peer} at {Endpoint}.", _options.Id, _peerId, _endpoint);
            }

            if (first)
            {
                _connectedAt = TimeProvider.System.GetTimestamp();
            }

            first = false;
            _reportedDown = false;
        }

        await call.RequestStream.CompleteAsync();
    }
}
