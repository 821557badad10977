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
internal sealed class WatchStream(int replicaId, long bytesMax, WatchEventCache eventCache) : IWatchSink
{
    private readonly Channel<(WatchResponse Response, long Bytes)> _queue =
        Channel.CreateUnbounded<(WatchResponse, long)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, bool> _prevKv = new();
    private long _queuedBytes;
    private long _lastAutoId;

    /// <summary>The answers to send, each with the bytes it counts for in the queue's bound.</summary>
    public ChannelReader<(WatchResponse Response, long Bytes)> Responses => _queue.Reader;

    public bool HasRoom => Interlocked.Read(ref _queuedBytes) < bytesMax;

    /// <summary>The bytes queued for the client and not yet written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The watchers the client created on this stream and has not cancelled (a bound per stream).</summary>
    public int Watchers => _prevKv.Count;

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
    public void Written(long bytes) => Interlocked.Add(ref _queuedBytes, -bytes);

    /// <summary>No more responses: the stream ended.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public void Created(long watchId, long startRevision, long revision) =>
        Enqueue(new WatchResponse { WatchId = watchId, Created = true, StartRevision = startRevision, Revision = revision, ServedBy = (uint)replicaId });

    public void Deliver(long watchId, IReadOnlyList<KvEvent> events, long revision)
    {
        // The same change goes to every watcher of it: its message is built once (WatchEventCache) and shared.
        var withPrevious = _prevKv.TryGetValue(watchId, out var prevKv) && prevKv;
        var response = new WatchResponse { WatchId = watchId, Revision = revision, ServedBy = (uint)replicaId };
        long bytes = ResponseOverheadBytes;
        foreach (var change in events)
        {
            var (message, size) = eventCache.Of(change, withPrevious);
            response.Events.Add(message);
            bytes += size + EventFramingBytes;
        }

        Enqueue(response, bytes);
    }

    public void Progress(long watchId, long revision) =>
        Enqueue(new WatchResponse { WatchId = watchId, Progress = true, Revision = revision, ServedBy = (uint)replicaId });

    public void Canceled(long watchId, string reason, long compactRevision)
    {
        _prevKv.TryRemove(watchId, out _);
        Enqueue(new WatchResponse { WatchId = watchId, Canceled = true, CancelReason = reason, CompactRevision = compactRevision, ServedBy = (uint)replicaId },
            ResponseOverheadBytes + reason.Length);
    }

    /// <summary>What a response counts for beyond its changes: its own fields (an upper bound).</summary>
    private const int ResponseOverheadBytes = 64;

    /// <summary>What each change counts for beyond its message: its tag and length.</summary>
    private const int EventFramingBytes = 6;

    private void Enqueue(WatchResponse response, long bytes = ResponseOverheadBytes)
    {
        Interlocked.Add(ref _queuedBytes, bytes);
        _queue.Writer.TryWrite((response, bytes));
    }

    internal static KeyValue KeyValueOf(byte[] key, KvEntry entry) => new()
    {
        Key = UnsafeByteOperations.UnsafeWrap(key),
        Value = UnsafeByteOperations.UnsafeWrap(entry.Value),
        CreateRevision = entry.CreateRevision,
        ModRevision = entry.ModRevision,
        Version = entry.Version,
    };
}
