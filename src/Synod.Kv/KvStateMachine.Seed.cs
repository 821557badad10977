namespace Synod.Kv;

/// <summary>A state machine made from a saved list of keys, to seed a new cluster's replicas (`synod snapshot restore --id`).</summary>
public sealed partial class KvStateMachine
{
    /// <summary>
    /// A state machine that has applied <paramref name="slot"/> and holds exactly <paramref name="entries"/> as of
    /// <paramref name="revision"/>, each with the revisions and version it was saved with: no sessions, leases or users,
    /// and a history window that starts at the next revision (reads at an earlier one are compacted). Every replica
    /// seeded from the same entries at the same slot holds the same snapshot bytes.
    /// </summary>
    /// <param name="entries">In strictly ascending key order, as a snapshot holds them.</param>
    /// <exception cref="KvFormatException">An entry out of order, out of the store's limits, or with revisions that break 1 &lt;= create &lt;= mod &lt;= revision and 1 &lt;= version &lt;= mod; it names the entry.</exception>
    public static KvStateMachine Seeded(
        long slot, long revision, IEnumerable<(byte[] Key, KvEntry Entry)> entries, int sessionsMax = KvLimits.SessionsMaxDefault, KvHistoryLimits? history = null)
    {
        if (slot < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, "A seeded state stands for at least slot 1.");
        }

        if (revision is < 0 or > RevisionMax)
        {
            throw new KvFormatException($"The saved revision {revision} is outside 0 to {RevisionMax}.");
        }

        var machine = new KvStateMachine(sessionsMax, KvBugs.None, history)
        {
            AppliedSlot = slot,
            Revision = revision,
            RevisionsStarted = true,
        };
        machine.StartHistory();
        byte[]? previous = null;
        var index = 0;
        foreach (var (key, entry) in entries)
        {
            if (key.Length is 0 or > KvLimits.KeyBytesMax || entry.Value.Length > KvLimits.ValueBytesMax)
            {
                throw new KvFormatException(
                    $"Saved key #{index} has {key.Length} bytes and a value of {entry.Value.Length}; keys are 1 to {KvLimits.KeyBytesMax} bytes ({nameof(KvLimits.KeyBytesMax)}), values at most {KvLimits.ValueBytesMax} ({nameof(KvLimits.ValueBytesMax)}).");
            }

            if (previous is not null && ByteArrayComparer.Instance.Compare(previous, key) >= 0)
            {
                throw new KvFormatException($"Saved key #{index} is out of order or repeated: keys must be in strictly ascending byte order.");
            }

            if (entry.CreateRevision < 1 || entry.CreateRevision > entry.ModRevision || entry.ModRevision > revision || entry.Version < 1 || entry.Version > entry.ModRevision)
            {
                throw new KvFormatException(
                    $"Saved key #{index} has create revision {entry.CreateRevision}, mod revision {entry.ModRevision} and version {entry.Version}: " +
                    $"they must satisfy 1 <= create <= mod <= the saved revision ({revision}) and 1 <= version <= mod.");
            }

            machine._entries.Add(key, entry);
            machine._keyIndex.Add(key);
            machine.DataBytes += EntryBytes(key.Length, entry.Value.Length);
            previous = key;
            index++;
        }

        return machine;
    }
}
