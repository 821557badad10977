using System.Runtime.InteropServices;

namespace Synod.Kv;

/// <summary>
/// Snapshots without stopping the owner loop. <see cref="BeginSnapshot"/> freezes the key dictionary as it stands and
/// copies the (bounded) sessions, and shares the history's chunks (never written again where they hold changes); from then on writes go to an overlay (a removed key is a null there), reads look in
/// the overlay first, and another thread serialises the frozen state (<see cref="KvSnapshotJob.Serialize"/>).
/// <see cref="EndSnapshot"/> folds the overlay back in, at a cost in proportion to the writes made meanwhile, not to
/// the size of the state. The bytes are exactly what <see cref="Snapshot"/> would have returned at the begin.
/// </summary>
public sealed partial class KvStateMachine
{
    private Dictionary<byte[], KvEntry?>? _overlay;
    private Dictionary<byte[], KvEntry?>.AlternateLookup<ReadOnlySpan<byte>> _overlayBySpan;
    private int _overlayCountDelta;

    /// <summary>True between <see cref="BeginSnapshot"/> and <see cref="EndSnapshot"/>.</summary>
    public bool SnapshotInProgress => _overlay is not null;

    /// <summary>
    /// Freezes the state as of <see cref="AppliedSlot"/> for serialising elsewhere. The serialised array starts with
    /// <paramref name="prefix"/> (the replica's configuration envelope), so that it needs no copy to be stored.
    /// </summary>
    /// <param name="prefix">Bytes the serialised array starts with.</param>
    /// <param name="bytesMax">The most the serialised array may have: past it, Serialize throws <see cref="KvSnapshotTooLargeException"/> before allocating.</param>
    /// <exception cref="InvalidOperationException">A snapshot is in progress already.</exception>
    public KvSnapshotJob BeginSnapshot(byte[]? prefix = null, long bytesMax = long.MaxValue)
    {
        if (_overlay is not null)
        {
            throw new InvalidOperationException("A background snapshot is in progress already; finish it with EndSnapshot first.");
        }

        _overlay = new Dictionary<byte[], KvEntry?>(ByteArrayComparer.Instance);
        _overlayBySpan = _overlay.GetAlternateLookup<ReadOnlySpan<byte>>();
        _overlayCountDelta = 0;
        var entries = _entries;
        var slot = AppliedSlot;
        var sessions = _sessions.OrderBy(pair => pair.Key).ToArray();
        var lastClientId = LastClientId;
        var revision = Revision;
        var started = RevisionsStarted;
        var history = HistoryNow();
        var leases = LeasesNow();
        var auth = AuthSection();
        prefix ??= [];
        return new KvSnapshotJob(this, slot, prefix.Length, allocate =>
        {
            var keys = entries.Keys.ToArray();
            Array.Sort(keys, ByteArrayComparer.Instance);
            return Serialize(prefix, slot, lastClientId, revision, started, entries, keys, sessions, history, leases, auth, bytesMax, allocate);
        });
    }

    /// <summary>On the owner thread, after the job's Serialize returned: writes made meanwhile join the state.</summary>
    public void EndSnapshot(KvSnapshotJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!ReferenceEquals(job.Owner, this) || _overlay is null)
        {
            throw new InvalidOperationException($"The snapshot job for slot {job.Slot} does not belong to this state machine, or was ended already.");
        }

        foreach (var (key, value) in _overlay)
        {
            if (value is null)
            {
                _entries.Remove(key);
            }
            else
            {
                _entries[key] = value.Value;
            }
        }

        _overlay = null;
        _overlayCountDelta = 0;
    }

    private void Put(byte[] key, KvEntry value)
    {
        DataBytes += EntryBytes(key.Length, value.Value.Length);
        if (_overlay is null)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, key, out var existed);
            if (existed)
            {
                DataBytes -= EntryBytes(key.Length, slot.Value.Length);
            }

            slot = value;
            return;
        }

        if (TryGetEntry(key, out var existing))
        {
            DataBytes -= EntryBytes(key.Length, existing.Value.Length);
        }
        else
        {
            _overlayCountDelta++;
        }

        _overlay[key] = value;
    }

    private bool Delete(byte[] key)
    {
        if (_overlay is null)
        {
            if (!_entries.Remove(key, out var removed))
            {
                return false;
            }

            DataBytes -= EntryBytes(key.Length, removed.Value.Length);
            return true;
        }

        if (!TryGetEntry(key, out var existing))
        {
            return false;
        }

        DataBytes -= EntryBytes(key.Length, existing.Value.Length);
        _overlay[key] = null;
        _overlayCountDelta--;
        return true;
    }
}
