using System.Threading.Channels;
using Google.Protobuf;
using Synod.Driver;
using Synod.Kv;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// One client's watch stream: the driver's sink for its watchers, and the queue of answers the stream's writer sends.
/// The queue is bounded in bytes (<see cref="ServerOptions.WatchStreamBytesMax"/>): past it <see cref="HasRoom"/> is
/// false, the driver stops delivering, and the stream's watchers fall back to the history until the client has read
/// what is queued. So a slow client holds at most its bound (and one batch) on the replica, never more.
/// </summary>
internal sealed class WatchStream(int replicaId, long bytesMax, WatchEventCache eventCache, WatchBytes all) : IWatchSink
{
    // Written by the owner loop and, for refusals, by the stream's reader: not a single writer.
    private readonly Channel<(WatchResponse Response, long Bytes)> _queue =
        Channel.CreateUnbounded<(WatchResponse, long)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private int _progressRequested;
    private readonly Lock _gate = new();
    private bool _discarded;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, bool> _prevKv = new();
    private long _queuedBytes;
    private long _lastAutoId;

    /// <summary>The answers to send, each with the bytes it counts for in the queue's bound.</summary>
    public ChannelReader<(WatchResponse Response, long Bytes)> Responses => _queue.Reader;

    /// <remarks>
    /// Past the replica's bound for all streams, a stream still has room while its queue is empty: a client that reads
    /// keeps getting its changes however many other streams do not read, and each of those holds at most one batch more.
    /// </remarks>
    public bool HasRoom => Interlocked.Read(ref _queuedBytes) is var queued && queued < bytesMax && (queued <= 0 || all.HasRoom);

    /// <summary>The bytes queued for the client and not yet written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The watchers the client created on this stream and has not cancelled (a bound per stream).</summary>
    public int Watchers => _prevKv.Count;

    /// <summary>Waits (polling, on the stream's reader) until the queue is under its bound again.</summary>
    public async Task WaitForRoomAsync(CancellationToken cancellation)
    {
        while (!HasRoom)
        {
            await Task.Delay(RoomPollMs, cancellation);
        }
    }

    /// <summary>
    /// True if a progress request should go to the owner loop: one at a time per stream; the ones that come while one
    /// is pending are answered by it.
    /// </summary>
    public bool TakeProgressRequest() => Interlocked.Exchange(ref _progressRequested, 1) == 0;

    /// <summary>A create (or request) refused before it reached the owner loop: answered, without touching a live watcher of the same id.</summary>
    public void Refused(long watchId, string reason, bool permissionDenied = false) =>
        Enqueue(new WatchResponse { WatchId = watchId, Canceled = true, CancelReason = reason, ServedBy = (uint)replicaId, PermissionDenied = permissionDenied }, ResponseOverheadBytes + reason.Length);

    private const int RoomPollMs = 10;

    /// <summary>True while a watcher of this id is open on the stream (an id is free again once its cancel is answered).</summary>
    public bool InUse(long watchId) => _prevKv.ContainsKey(watchId);

    /// <summary>On the stream's reader: a create with its id (0: the next free one), recorded before the driver sees it.</summary>
    public long Register(long watchId, bool prevKv)
    {
        if (watchId == 0)
        {
            do
            {
                watchId = Interlocked.Increment(ref _lastAutoId);
            }
            while (!_prevKv.TryAdd(watchId, prevKv));

            return watchId;
        }

        _prevKv.TryAdd(watchId, prevKv);
        return watchId;
    }

    /// <summary>On the stream's writer, once a response went out.</summary>
    public void Written(long bytes)
    {
        lock (_gate)
        {
            if (!_discarded)
            {
                Interlocked.Add(ref _queuedBytes, -bytes);
                all.Add(-bytes);
            }
        }
    }

    /// <summary>
    /// The stream ended: what it still had queued no longer counts against the replica's bound, and what the owner loop
    /// hands it before it hears of the end is dropped uncounted.
    /// </summary>
    public void Discard()
    {
        lock (_gate)
        {
            _discarded = true;
            all.Add(-Interlocked.Exchange(ref _queuedBytes, 0));
        }
    }

    /// <summary>No more responses: the stream ended.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public void Created(long watchId, long startRevision, long revision) =>
        Enqueue(new WatchResponse { WatchId = watchId, Created = true, StartRevision = startRevision, Revision = revision, ServedBy = (uint)replicaId });

    public void Deliver(long watchId, IReadOnlyList<KvEvent> events, long revision)
    {
        // The same change goes to every watcher of it: its message is built once (WatchEventCache) and shared. A response
        // holds at most WatchResponseBytesMax, which every client accepts: a revision larger than that (a transaction of
        // many large values with their previous values) goes in fragments, each but the last marked, so that a client
        // takes the revision whole or, if the stream breaks between them, not at all.
        var withPrevious = _prevKv.TryGetValue(watchId, out var prevKv) && prevKv;
        var response = new WatchResponse { WatchId = watchId, Revision = revision, ServedBy = (uint)replicaId };
        long bytes = ResponseOverheadBytes;
        for (var index = 0; index < events.Count; index++)
        {
            var (message, size) = eventCache.Of(events[index], withPrevious);
            if (response.Events.Count > 0 && bytes + size + EventFramingBytes > WatchResponseBytesMax)
            {
                response.Fragment = events[index].Revision == events[index - 1].Revision;
                Enqueue(response, bytes);
                response = new WatchResponse { WatchId = watchId, Revision = revision, ServedBy = (uint)replicaId };
                bytes = ResponseOverheadBytes;
            }

            response.Events.Add(message);
            bytes += size + EventFramingBytes;
        }

        Enqueue(response, bytes);
    }

    /// <summary>The most bytes of changes one response carries (4 MiB): below every client's receive bound.</summary>
    public const int WatchResponseBytesMax = 4 * 1024 * 1024;

    public void Progress(long watchId, long revision) =>
        Enqueue(new WatchResponse { WatchId = watchId, Progress = true, Revision = revision, ServedBy = (uint)replicaId });

    /// <summary>The owner loop has answered the stream's pending progress request.</summary>
    public void ProgressRequestAnswered() => Interlocked.Exchange(ref _progressRequested, 0);

    public void Denied(long watchId, string reason)
    {
        _prevKv.TryRemove(watchId, out _);
        Refused(watchId, reason, permissionDenied: true);
    }

    public void Canceled(long watchId, string reason, long compactRevision)
    {
        _prevKv.TryRemove(watchId, out _);
        Enqueue(new WatchResponse
        {
            WatchId = watchId, Canceled = true, CancelReason = reason, CompactRevision = compactRevision, ServedBy = (uint)replicaId,

            // A replica at its bound of watchers: the client should watch from another one.
            RetryElsewhere = reason.StartsWith(ReplicaDriver.WatchersMaxRefusal, StringComparison.Ordinal),
        }, ResponseOverheadBytes + reason.Length);
    }

    /// <summary>What a response counts for beyond its changes: its own fields (an upper bound).</summary>
    private const int ResponseOverheadBytes = 64;

    /// <summary>What each change counts for beyond its message: its tag and length.</summary>
    private const int EventFramingBytes = 6;

    private void Enqueue(WatchResponse response, long bytes = ResponseOverheadBytes)
    {
        lock (_gate)
        {
            if (_discarded)
            {
                return;
            }

            Interlocked.Add(ref _queuedBytes, bytes);
            all.Add(bytes);
        }

        _queue.Writer.TryWrite((response, bytes));
    }

}

/// <summary>The bytes all watch streams of a replica have queued, against <see cref="ServerOptions.WatchBytesMax"/>.</summary>
internal sealed class WatchBytes(long bytesMax)
{
    private long _queued;

    public bool HasRoom => Interlocked.Read(ref _queued) < bytesMax;

    public long Queued => Interlocked.Read(ref _queued);

    public void Add(long bytes) => Interlocked.Add(ref _queued, bytes);
}
