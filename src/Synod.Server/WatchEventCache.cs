using Synod.Kv;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// The watch messages of recent changes, built once and shared by every stream that sends them (a protobuf message may
/// sit in many responses: it has no parent). With a thousand watchers of one prefix this turns a thousand conversions
/// of each change, on the owner loop, into one. Used on the owner loop only; it forgets everything past a bound.
/// </summary>
internal sealed class WatchEventCache
{
    /// <summary>The changes remembered before the cache starts afresh.</summary>
    private const int EntriesMax = 16_384;

    private readonly Dictionary<(long Revision, byte[] Key, bool WithPrevious), (WatchEvent Message, int Bytes)> _built = new(new KeyComparer());

    public (WatchEvent Message, int Bytes) Of(in KvEvent change, bool withPrevious)
    {
        var key = (change.Revision, change.Key, withPrevious);
        if (_built.TryGetValue(key, out var built))
        {
            return built;
        }

        if (_built.Count >= EntriesMax)
        {
            _built.Clear();
        }

        var message = new WatchEvent
        {
            Type = change.IsDelete ? WatchEvent.Types.EventType.Delete : WatchEvent.Types.EventType.Put,
            Kv = change.Entry is { } entry
                ? ProtoBytes.KeyValueOf(change.Key, entry, kept: true)
                : new KeyValue { Key = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(change.Key), ModRevision = change.Revision },
        };
        if (withPrevious && change.Previous is { } previous)
        {
            message.PrevKv = ProtoBytes.KeyValueOf(change.Key, previous, kept: true);
        }

        built = (message, message.CalculateSize());
        _built[key] = built;
        return built;
    }

    /// <summary>Keys compare by reference: a change's key is the state machine's own array, the same for every watcher.</summary>
    private sealed class KeyComparer : IEqualityComparer<(long Revision, byte[] Key, bool WithPrevious)>
    {
        public bool Equals((long Revision, byte[] Key, bool WithPrevious) x, (long Revision, byte[] Key, bool WithPrevious) y) =>
            x.Revision == y.Revision && ReferenceEquals(x.Key, y.Key) && x.WithPrevious == y.WithPrevious;

        public int GetHashCode((long Revision, byte[] Key, bool WithPrevious) obj) =>
            HashCode.Combine(obj.Revision, System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Key), obj.WithPrevious);
    }
}
