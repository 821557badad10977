namespace Synod.Kv;

/// <summary>
/// History and compaction (docs/api.md, "History and compaction"): every change since <see cref="CompactRevision"/>,
/// in revision order, in a bounded window. A read at a past revision undoes the changes after it; a watcher catches up
/// from it. The window is trimmed after every slot by <see cref="KvHistoryLimits"/> and moved on by a compact command,
/// the same way on every replica with the same limits; snapshots carry it, so it survives restarts and rebuilds.
/// The changes are kept in chunks that are never written again once a change is in them and are dropped whole, so a
/// background snapshot reads the chunks it was given while the owner loop goes on appending and trimming.
/// </summary>
public sealed partial class KvStateMachine
{
    /// <summary>
    /// What a change counts for in <see cref="HistoryBytes"/> beyond its key and values: the change itself (about 100
    /// bytes of references and revisions) and the headers of the arrays it holds.
    /// </summary>
    public const int HistoryEventOverheadBytes = 160;

    /// <summary>The changes one chunk of the window holds.</summary>
    private const int HistoryChunkEvents = 1024;

    private readonly KvHistoryLimits _historyLimits;

    // The changes kept, oldest first: the i-th is _chunks[(_firstOffset + i) / HistoryChunkEvents][... % HistoryChunkEvents].
    // Only the slots after the last change are ever written; a chunk all of whose changes were dropped is dropped.
    private readonly List<KvEvent[]> _chunks = [];
    private int _firstOffset;
    private long _compactRevision = 1;

    /// <summary>The number of changes kept.</summary>
    public int HistoryEventCount { get; private set; }

    /// <summary>The bytes the kept changes count for (keys, values, previous values, <see cref="HistoryEventOverheadBytes"/> each).</summary>
    public long HistoryBytes { get; private set; }

    /// <summary>
    /// Whether the window is kept. A new state machine and one restored from a snapshot written before history start
    /// without; the first command of <see cref="KvCommand.FormatVersion"/> applied starts it, at the same slot on every
    /// replica whatever snapshot each restored (as revisions start, docs/api.md).
    /// </summary>
    public bool HistoryStarted { get; private set; }

    /// <summary>
    /// The oldest revision a read or a watch may ask for: every change at or after it is kept. A read at the current
    /// revision is always served, even when the window is empty. Before history starts, the revision after the current one.
    /// </summary>
    public long CompactRevision => HistoryStarted ? _compactRevision : Revision + 1;

    /// <summary>The history limits this state machine keeps to.</summary>
    public KvHistoryLimits HistoryLimits => _historyLimits;

    /// <summary>
    /// Why a read at <paramref name="revision"/> cannot be served, or null if it can: 0 is the current revision; a
    /// revision past the current one is in the future (<paramref name="compacted"/> false); one before
    /// <see cref="CompactRevision"/> has been compacted (true).
    /// </summary>
    public string? RevisionProblem(long revision, out bool compacted)
    {
        compacted = false;
        if (revision < 0)
        {
            return $"the revision is {revision}; it must be 0 (the current one) or more.";
        }

        if (revision > Revision)
        {
            return $"revision {revision} is in the future: this replica has applied up to revision {Revision}.";
        }

        if (revision != 0 && revision != Revision && revision < CompactRevision)
        {
            compacted = true;
            return $"revision {revision} has been compacted: the oldest revision kept is {Math.Min(CompactRevision, Revision)} (the current one is {Revision}).";
        }

        return null;
    }

    /// <summary>A key as it stood at <paramref name="revision"/> (0: now), which <see cref="RevisionProblem"/> must have accepted.</summary>
    public bool TryGetEntryAt(ReadOnlySpan<byte> key, long revision, out KvEntry entry)
    {
        if (revision == 0 || revision >= Revision)
        {
            return TryGetEntry(key, out entry);
        }

        CheckReadable(revision);
        for (var index = FirstEventAfter(UndoneAfter(revision)); index < HistoryEventCount; index++)
        {
            ref readonly var change = ref EventAt(index);
            if (key.SequenceEqual(change.Key))
            {
                entry = change.Previous.GetValueOrDefault();
                return change.Previous is not null;
            }
        }

        return TryGetEntry(key, out entry);
    }

    /// <summary>
    /// A range as it stood at <paramref name="revision"/> (0: now), bounded as <see cref="Range(KvRange)"/>. Its cost is
    /// the changes since the revision (to undo them) and the page it returns, not the size of the range: the keys of
    /// now and the keys the changes touched are merged in order as the page is read.
    /// </summary>
    public KvRangeResult RangeAt(KvRange range, long revision)
    {
        ArgumentNullException.ThrowIfNull(range);
        if (revision == 0 || revision >= Revision)
        {
            return Range(range);
        }

        CheckReadable(revision);

        // The first change after the revision to each key of the range holds what the key was then.
        var undone = new Dictionary<byte[], KvEntry?>(ByteArrayComparer.Instance);
        for (var index = FirstEventAfter(UndoneAfter(revision)); index < HistoryEventCount; index++)
        {
            ref readonly var change = ref EventAt(index);
            if (range.Contains(change.Key))
            {
                undone.TryAdd(change.Key, change.Previous);
            }
        }

        var changedKeys = undone.Keys.ToArray();
        Array.Sort(changedKeys, ByteArrayComparer.Instance);
        return Range(range, KvLimits.RangeKeysMax, KvLimits.RangeBytesMax, KeysThen(KeysOf(range), changedKeys, undone), key =>
            undone.TryGetValue(key, out var then) ? then : TryGetEntry(key, out var now) ? now : null);
    }

    /// <summary>
    /// The keys of a range as they were: the keys of now and the keys changed since, merged in order; a changed key is
    /// there if it existed then, an unchanged one because it exists now.
    /// </summary>
    private static IEnumerable<byte[]> KeysThen(IEnumerable<byte[]> now, byte[][] changed, Dictionary<byte[], KvEntry?> then)
    {
        var comparer = ByteArrayComparer.Instance;
        var next = 0;
        foreach (var key in now)
        {
            for (; next < changed.Length && comparer.Compare(changed[next], key) < 0; next++)
            {
                if (then[changed[next]] is not null)
                {
                    yield return changed[next];
                }
            }

            if (next < changed.Length && comparer.Compare(changed[next], key) == 0)
            {
                next++;
                if (then[key] is null)
                {
                    continue;
                }
            }

            yield return key;
        }

        for (; next < changed.Length; next++)
        {
            if (then[changed[next]] is not null)
            {
                yield return changed[next];
            }
        }
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the changes from <paramref name="fromRevision"/> on that touch
    /// <paramref name="range"/>, whole revisions only, until at least <paramref name="eventsMax"/> changes or
    /// <paramref name="bytesMax"/> bytes (counted as <see cref="HistoryBytes"/> counts them) are added, or the history
    /// ends. Returns the revision to read on from (the current revision + 1 when all were read). The changes from
    /// <paramref name="fromRevision"/> on must be kept (<see cref="CompactRevision"/> at or below it), unless it is
    /// past the current revision.
    /// </summary>
    public long EventsFrom(long fromRevision, KvRange range, List<KvEvent> into, int eventsMax, long bytesMax = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(range);
        ArgumentNullException.ThrowIfNull(into);
        ArgumentOutOfRangeException.ThrowIfLessThan(eventsMax, 1);
        if (fromRevision < CompactRevision && fromRevision <= Revision)
        {
            throw new InvalidOperationException($"Changes from revision {fromRevision} have been compacted (the oldest kept is {CompactRevision}).");
        }

        var added = 0;
        long bytes = 0;
        var lastAdded = 0L;
        for (var index = FirstEventAfter(fromRevision - 1); index < HistoryEventCount; index++)
        {
            ref readonly var change = ref EventAt(index);
            if ((added >= eventsMax || bytes >= bytesMax) && change.Revision != lastAdded)
            {
                return change.Revision;
            }

            if (range.Contains(change.Key))
            {
                into.Add(change);
                added++;
                bytes += EventBytes(change);
                lastAdded = change.Revision;
            }
        }

        return Math.Max(fromRevision, Revision + 1);
    }

    /// <summary>A read at <paramref name="revision"/> undoes the changes after it (with the bug, from it on).</summary>
    private long UndoneAfter(long revision) => (_bugs & KvBugs.HistoryUndoesOneTooMany) != 0 ? revision - 1 : revision;

    /// <summary>Starts the window at the next revision: at the first command of this encoding applied.</summary>
    private void StartHistory()
    {
        HistoryStarted = true;
        _compactRevision = Revision + 1;
    }

    /// <summary>Records one change of the command being applied; only once history has started.</summary>
    private void RecordEvent(long revision, byte[] key, KvEntry? entry, KvEntry? previous)
    {
        if (!HistoryStarted)
        {
            return;
        }

        var slot = _firstOffset + HistoryEventCount;
        if (slot / HistoryChunkEvents == _chunks.Count)
        {
            _chunks.Add(new KvEvent[HistoryChunkEvents]);
        }

        var change = new KvEvent(revision, key, entry, previous);
        _chunks[slot / HistoryChunkEvents][slot % HistoryChunkEvents] = change;
        HistoryEventCount++;
        HistoryBytes += EventBytes(change);
    }

    /// <summary>Moves the compaction point on to at most the current revision; never back. Returns the point after.</summary>
    private long Compact(long revision)
    {
        _compactRevision = Math.Max(_compactRevision, Math.Min(revision, Revision));
        DropEventsBefore(_compactRevision);
        return CompactRevision;
    }

    /// <summary>Keeps the window within its limits, after each slot: the newest revision's changes always stay.</summary>
    private void TrimHistory()
    {
        if (!HistoryStarted)
        {
            return;
        }

        var floor = Revision - _historyLimits.Revisions + 1;
        if (floor > _compactRevision)
        {
            _compactRevision = floor;
        }

        DropEventsBefore(_compactRevision);
        while (HistoryBytes > _historyLimits.Bytes && HistoryEventCount > 0 && EventAt(0).Revision < Revision)
        {
            _compactRevision = EventAt(0).Revision + 1;
            DropEventsBefore(_compactRevision);
        }
    }

    private void DropEventsBefore(long revision)
    {
        while (HistoryEventCount > 0 && EventAt(0).Revision < revision)
        {
            HistoryBytes -= EventBytes(EventAt(0));
            HistoryEventCount--;
            if (++_firstOffset == HistoryChunkEvents || HistoryEventCount == 0)
            {
                // The chunk's changes are all dropped (or, when none is left, the last chunk is begun again).
                _chunks.RemoveAt(0);
                _firstOffset = 0;
                if (HistoryEventCount == 0)
                {
                    _chunks.Clear();
                }
            }
        }
    }

    private static long EventBytes(in KvEvent change) =>
        change.Key.Length + (change.Entry?.Value.Length ?? 0) + (change.Previous?.Value.Length ?? 0) + HistoryEventOverheadBytes;

    private ref readonly KvEvent EventAt(int index)
    {
        var slot = _firstOffset + index;
        return ref _chunks[slot / HistoryChunkEvents][slot % HistoryChunkEvents];
    }

    /// <summary>The index of the first kept change after <paramref name="revision"/> (HistoryEventCount if none).</summary>
    private int FirstEventAfter(long revision)
    {
        int low = 0, high = HistoryEventCount;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (EventAt(middle).Revision <= revision)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private void CheckReadable(long revision)
    {
        if (RevisionProblem(revision, out _) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
    }

    /// <summary>
    /// The window as it stands, for a snapshot that another thread serialises: the chunks are shared, not copied
    /// (only slots after <see cref="HistoryEventCount"/> are written later, and dropped chunks are only unlisted).
    /// </summary>
    private HistoryView HistoryNow() => new(HistoryStarted, CompactRevision, [.. _chunks], _firstOffset, HistoryEventCount);

    /// <summary>A frozen view of the window: its changes in order, read without copying them.</summary>
    private readonly record struct HistoryView(bool Started, long CompactRevision, KvEvent[][] Chunks, int FirstOffset, int Count)
    {
        public IEnumerable<KvEvent> Events()
        {
            for (var index = 0; index < Count; index++)
            {
                var slot = FirstOffset + index;
                yield return Chunks[slot / HistoryChunkEvents][slot % HistoryChunkEvents];
            }
        }
    }
}
