using System.Collections;

namespace Synod.Kv;

/// <summary>
/// Every key in bytewise order, for range reads: a list of sorted chunks of at most <see cref="ChunkMax"/> keys (a
/// B-tree of one level). It holds a reference per key, about 10 bytes with the chunks' slack, where a sorted set held a
/// 48-byte tree node per key (issue 21, "Memory per key"). Adding or removing a key costs a binary search over the
/// chunks, one within a chunk and a move of at most <see cref="ChunkMax"/> references; a key past the largest (every key
/// of a snapshot restored, which come in order) is appended without a search, filling each chunk before the next begins.
/// </summary>
internal sealed class SortedKeyIndex : IEnumerable<byte[]>
{
    /// <summary>Keys per chunk at most; a chunk that grows past it is split in two.</summary>
    internal const int ChunkMax = 256;

    private static readonly ByteArrayComparer Comparer = ByteArrayComparer.Instance;

    /// <summary>Non-empty sorted chunks, in order: every key of a chunk is below every key of the next.</summary>
    private readonly List<List<byte[]>> _chunks = [];

    /// <summary>Changed by every add and remove, so that an enumeration over a changed index throws, as a sorted set's does.</summary>
    private long _version;

    public int Count { get; private set; }

    /// <summary>The largest key, or null when there is none.</summary>
    public byte[]? Max => _chunks.Count == 0 ? null : _chunks[^1][^1];

    /// <summary>Adds <paramref name="key"/>; false if it is there already.</summary>
    public bool Add(byte[] key)
    {
        if (_chunks.Count == 0)
        {
            _chunks.Add([key]);
            Count++;
            _version++;
            return true;
        }

        var last = _chunks[^1];
        if (Comparer.Compare(last[^1], key) < 0)
        {
            // Past the largest key (every key of a snapshot restored, keys written in order): no search.
            if (last.Count >= ChunkMax)
            {
                _chunks.Add(new List<byte[]>(ChunkMax) { key });
            }
            else
            {
                last.Add(key);
            }

            Count++;
            _version++;
            return true;
        }

        var c = ChunkFor(key);
        var chunk = _chunks[c];
        var at = chunk.BinarySearch(key, Comparer);
        if (at >= 0)
        {
            return false;
        }

        chunk.Insert(~at, key);
        if (chunk.Count > ChunkMax)
        {
            var upper = chunk.GetRange(ChunkMax / 2, chunk.Count - (ChunkMax / 2));
            chunk.RemoveRange(ChunkMax / 2, chunk.Count - (ChunkMax / 2));
            chunk.Capacity = ChunkMax;
            upper.Capacity = ChunkMax;
            _chunks.Insert(c + 1, upper);
        }

        Count++;
        _version++;
        return true;
    }

    /// <summary>Removes <paramref name="key"/>; false if it was not there.</summary>
    public bool Remove(byte[] key)
    {
        if (_chunks.Count == 0)
        {
            return false;
        }

        var c = ChunkFor(key);
        var chunk = _chunks[c];
        var at = chunk.BinarySearch(key, Comparer);
        if (at < 0)
        {
            return false;
        }

        chunk.RemoveAt(at);
        if (chunk.Count == 0)
        {
            _chunks.RemoveAt(c);
        }

        Count--;
        _version++;
        return true;
    }

    /// <summary>
    /// What is wrong with the index's shape, or null: a chunk empty or over <see cref="ChunkMax"/>, a key not above the
    /// one before it, a count or largest key that does not match the keys held. For tests (SortedKeyIndexTests).
    /// </summary>
    internal string? Problem()
    {
        byte[]? previous = null;
        var keys = 0;
        for (var c = 0; c < _chunks.Count; c++)
        {
            if (_chunks[c].Count is 0 or > ChunkMax)
            {
                return $"chunk {c} holds {_chunks[c].Count} keys, not 1 to {ChunkMax}";
            }

            foreach (var key in _chunks[c])
            {
                if (previous is not null && Comparer.Compare(previous, key) >= 0)
                {
                    return $"key {keys} (in chunk {c}) is not above the key before it";
                }

                (previous, keys) = (key, keys + 1);
            }
        }

        return keys != Count ? $"Count is {Count}, but the chunks hold {keys} keys"
            : !ReferenceEquals(Max, previous) ? "Max is not the last key held"
            : null;
    }

    /// <summary>The keys from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive; null: to the end), in order.</summary>
    public IEnumerable<byte[]> Between(byte[] from, byte[]? to)
    {
        if (_chunks.Count == 0)
        {
            yield break;
        }

        var version = _version;
        var c = ChunkFor(from);
        var at = _chunks[c].BinarySearch(from, Comparer);
        at = at >= 0 ? at : ~at;
        for (; c < _chunks.Count; c++, at = 0)
        {
            var chunk = _chunks[c];
            for (; at < chunk.Count; at++)
            {
                if (version != _version)
                {
                    throw new InvalidOperationException("The key index changed while it was being read.");
                }

                var key = chunk[at];
                if (to is not null && Comparer.Compare(key, to) >= 0)
                {
                    yield break;
                }

                yield return key;
            }
        }
    }

    public IEnumerator<byte[]> GetEnumerator() => _chunks.Count == 0 ? Enumerable.Empty<byte[]>().GetEnumerator() : Between(_chunks[0][0], null).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The chunk <paramref name="key"/> belongs in: the last whose first key is not above it (the first if none is).</summary>
    private int ChunkFor(byte[] key)
    {
        int low = 0, high = _chunks.Count - 1;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (Comparer.Compare(_chunks[mid][0], key) <= 0)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        return low;
    }
}
