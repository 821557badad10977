namespace Synod.Kv;

/// <summary>
/// History and compaction (docs/api.md, "History and compaction"): every change since <see cref="CompactRevision"/>,
/// in revision order, in a bounded window. A read at a past revision undoes the changes after it; a watcher catches up
/// from it. The window is trimmed after every slot by <see cref="KvHistoryLimits"/> and moved on by a compact command,
/// the same way on every replica with the same limits; snapshots carry it, so it survives restarts and rebuilds.
/// </summary>
public sealed partial class KvStateMachine
{
    /// <summary>What a change counts for in <see cref="HistoryBytes"/> beyond its key and values: revisions and references.</summary>
    public const int HistoryEventOverheadBytes = 64;

    private readonly KvHistoryLimits _historyLimits;

    // A ring of the changes kept, oldest first: _events[(_eventsHead + i) % _events.Length] is the i-th.
    private KvEvent[] _events = new KvEvent[16];
    private int _eventsHead;

    /// <summary>The number of changes kept.</summary>
    public int HistoryEventCount { get; private set; }

    /// <summary>The bytes the kept changes count for (keys, values, previous values, <see cref="HistoryEventOverheadBytes"/> each).</summary>
    public long HistoryBytes { get; private set; }

    /// <summary>
    /// The oldest revision a read or a watch may ask for: every change at or after it is kept. A read at the current
    /// revision is always served, even when the window is empty. 1 on a new cluster.
    /// </summary>
    public long CompactRevision { get; private set; } = 1;

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
            return $"revision {revision} has been compacted: the oldest revision kept is {CompactRevision} (the current one is {Revision}).";
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

    /// <summary>A range as it stood at <paramref name="revision"/> (0: now), bounded as <see cref="Range(KvRange)"/>.</summary>
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

        var keys = new SortedSet<byte[]>(KeysOf(range).Where(key => !undone.ContainsKey(key)), ByteArrayComparer.Instance);
        foreach (var (key, then) in undone)
        {
            if (then is not null)
            {
                keys.Add(key);
            }
        }

        return Range(range, KvLimits.RangeKeysMax, KvLimits.RangeBytesMax, keys, key =>
            undone.TryGetValue(key, out var then) ? then : TryGetEntry(key, out var now) ? now : null);
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the changes from <paramref name="fromRevision"/> on that touch
    /// <paramref name="range"/>, whole revisions only, until at least <paramref name="eventsMax"/> changes or
    /// <paramref name="bytesMax"/> bytes (counted as <see cref="HistoryBytes"/> counts them) are added, or the history
    /// ends. Returns the revision to read on from (the current revision + 1 when all were read). The changes before
    /// <paramref name="fromRevision"/> need not be kept, but those from it on must be (<see cref="CompactRevision"/> at
    /// or below it), unless it is past the current revision.
    /// </summary>
    public long EventsFrom(long fromRevision, KvRange range, List<KvEvent> into, int eventsMax, long bytesMax = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(range);
        ArgumentNullException.ThrowIfNull(into);
        if (fromRevision < CompactRevision && fromRevision <= Revision)
        {
            throw new InvalidOperationException($"Changes from revision {fromRevision} have been compacted (the oldest kept is {CompactRevision}).");
        }

        var added = 0;
        long bytes = 0;
        for (var index = FirstEventAfter(fromRevision - 1); index < HistoryEventCount; index++)
        {
            ref readonly var change = ref EventAt(index);
            if ((added >= eventsMax || bytes >= bytesMax) && added > 0 && change.Revision != EventAt(index - 1).Revision)
            {
                return change.Revision;
            }

            if (range.Contains(change.Key))
            {
                into.Add(change);
                added++;
                bytes += EventBytes(change);
            }
        }

        return Math.Max(fromRevision, Revision + 1);
    }

    /// <summary>A read at <paramref name="revision"/> undoes the changes after it (with the bug, from it on).</summary>
    private long UndoneAfter(long revision) => (_bugs & KvBugs.HistoryUndoesOneTooMany) != 0 ? revision - 1 : revision;

    /// <summary>Records one change of the command being applied; only once revisions have started.</summary>
    private void RecordEvent(long revision, byte[] key, KvEntry? entry, KvEntry? previous)
    {
        if (!RevisionsStarted)
        {
            return;
        }

        if (HistoryEventCount == _events.Length)
        {
            var grown = new KvEvent[_events.Length * 2];
            for (var index = 0; index < HistoryEventCount; index++)
            {
                grown[index] = EventAt(index);
            }

            _events = grown;
            _eventsHead = 0;
        }

        var change = new KvEvent(revision, key, entry, previous);
        _events[(_eventsHead + HistoryEventCount) % _events.Length] = change;
        HistoryEventCount++;
        HistoryBytes += EventBytes(change);
    }

    /// <summary>Moves the compaction point on to at most the current revision; never back. Returns the point after.</summary>
    private long Compact(long revision)
    {
        CompactRevision = Math.Max(CompactRevision, Math.Min(revision, Math.Max(Revision, 1)));
        DropEventsBefore(CompactRevision);
        return CompactRevision;
    }

    /// <summary>Keeps the window within its limits, after each slot: the newest revision's changes always stay.</summary>
    private void TrimHistory()
    {
        if (!RevisionsStarted)
        {
            return;
        }

        var floor = Revision - _historyLimits.Revisions + 1;
        if (floor > CompactRevision)
        {
            CompactRevision = floor;
        }

        DropEventsBefore(CompactRevision);
        while (HistoryBytes > _historyLimits.Bytes && HistoryEventCount > 0 && EventAt(0).Revision < Revision)
        {
            CompactRevision = EventAt(0).Revision + 1;
            DropEventsBefore(CompactRevision);
        }
    }

    private void DropEventsBefore(long revision)
    {
        while (HistoryEventCount > 0 && EventAt(0).Revision < revision)
        {
            HistoryBytes -= EventBytes(EventAt(0));
            _events[_eventsHead] = default;
            _eventsHead = (_eventsHead + 1) % _events.Length;
            HistoryEventCount--;
        }

        // A long-lived window that shrank gives its memory back.
        if (_events.Length > 64 && HistoryEventCount < _events.Length / 4)
        {
            var shrunk = new KvEvent[Math.Max(16, _events.Length / 2)];
            for (var index = 0; index < HistoryEventCount; index++)
            {
                shrunk[index] = EventAt(index);
            }

            _events = shrunk;
            _eventsHead = 0;
        }
    }

    private static long EventBytes(in KvEvent change) =>
        change.Key.Length + (change.Entry?.Value.Length ?? 0) + (change.Previous?.Value.Length ?? 0) + HistoryEventOverheadBytes;

    private ref readonly KvEvent EventAt(int index) => ref _events[(_eventsHead + index) % _events.Length];

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

    /// <summary>The kept changes, oldest first, for a snapshot.</summary>
    private KvEvent[] HistoryCopy()
    {
        var copy = new KvEvent[HistoryEventCount];
        for (var index = 0; index < copy.Length; index++)
        {
            copy[index] = EventAt(index);
        }

        return copy;
    }
}
