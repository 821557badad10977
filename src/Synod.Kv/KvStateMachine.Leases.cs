using System.Buffers.Binary;
using System.IO.Hashing;

namespace Synod.Kv;

/// <summary>
/// Leases (docs/api.md, "Leases"). A lease is an id, a TTL and the keys attached to it; it ends by a revoke or by an
/// expiry its leader proposed, and either deletes all its keys at one revision. Time is not in here: which lease is
/// due is the leader's to judge (ReplicaDriver), and this side only checks that an expiry comes from the leader whose
/// epoch was applied last (<see cref="LeaseEpoch"/>), so that a deposed or paused leader's expiry, or one re-proposed
/// by a later leader, takes no effect once a later leader has spoken.
/// </summary>
public sealed partial class KvStateMachine
{
    private readonly SortedDictionary<long, KvLease> _leases = [];
    private readonly Dictionary<byte[], long> _keyLeases = new(ByteArrayComparer.Instance);

    // Leases granted since the owner last took them (TakeNewGrants), so that it can start their clocks without a scan.
    private readonly List<long> _newGrants = [];

    /// <summary>The ballot of the last <see cref="KvOperation.LeaderEpoch"/> applied (the largest: an older one changes nothing).</summary>
    public KvEpoch LeaseEpoch { get; private set; }

    /// <summary>The leases live.</summary>
    public int LeaseCount => _leases.Count;

    /// <summary>The live leases' ids and TTLs (seconds), in id order.</summary>
    public IEnumerable<(long Id, long TtlSeconds)> Leases() => _leases.Values.Select(lease => (lease.Id, lease.TtlSeconds));

    /// <summary>The live leases with the slot each grant was applied at (which grant of an id a deadline or an expiry is about).</summary>
    public IEnumerable<(long Id, long TtlSeconds, long GrantSlot)> LeaseGrants() => _leases.Values.Select(lease => (lease.Id, lease.TtlSeconds, lease.GrantSlot));

    /// <summary>A live lease's TTL in seconds and its keys (in bytewise order; the stored arrays, not to be modified).</summary>
    public bool TryGetLease(long id, out long ttlSeconds, out IReadOnlyCollection<byte[]> keys)
    {
        if (_leases.TryGetValue(id, out var lease))
        {
            ttlSeconds = lease.TtlSeconds;
            keys = lease.Keys;
            return true;
        }

        ttlSeconds = 0;
        keys = [];
        return false;
    }

    /// <summary>The user that granted a live lease ("": none named, or no such lease).</summary>
    public string LeaseOwner(long id) => _leases.TryGetValue(id, out var lease) ? lease.Owner : "";

    /// <summary>The slot a live lease's grant was applied at; 0 if it does not exist.</summary>
    public long LeaseGrantSlot(long id) => _leases.TryGetValue(id, out var lease) ? lease.GrantSlot : 0;

    /// <summary>Moves the ids of the leases granted since the last call into <paramref name="into"/>.</summary>
    public void TakeNewGrants(List<long> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        into.AddRange(_newGrants);
        _newGrants.Clear();
    }

    /// <summary>The lease a key is attached to; 0 for none.</summary>
    public long LeaseOf(byte[] key) => _keyLeases.Count > 0 && _keyLeases.TryGetValue(key, out var lease) ? lease : 0;

    /// <summary>A leader epoch or an expiry: no session; a duplicate changes nothing.</summary>
    private AppliedCommand ApplyLeaderCommand(KvCommand command)
    {
        if (command.Operation == KvOperation.LeaderEpoch)
        {
            if (command.Epoch > LeaseEpoch)
            {
                LeaseEpoch = command.Epoch;
            }

            return new AppliedCommand(0, 0, KvStatus.Ok, Duplicate: false, Revision: Revision);
        }

        // An expiry counts only from the leader that spoke last: one from an older ballot (a deposed or paused leader's,
        // or one a later leader re-proposed) is void, since the leader now measuring the lease may have seen it kept alive.
        if ((_bugs & KvBugs.ExpiryIgnoresEpoch) == 0 && command.Epoch != LeaseEpoch)
        {
            return new AppliedCommand(0, 0, KvStatus.CompareFailed, Duplicate: false, Revision: Revision);
        }

        // An expiry ends the grant it was measured for: a lease revoked and granted again under the same id since is another.
        var ended = _leases.TryGetValue(command.LeaseId, out var lease) && lease.GrantSlot == command.LeaseGrantSlot && EndLease(command.LeaseId);
        return new AppliedCommand(0, 0, ended ? KvStatus.Ok : KvStatus.NotFound, Duplicate: false, Revision: Revision);
    }

    /// <summary>A grant or revoke under the session rules.</summary>
    private KvStatus ApplyLeaseCommand(long slot, KvCommand command)
    {
        var id = command.LeaseId;
        if (command.Operation == KvOperation.LeaseRevoke)
        {
            return EndLease(id) ? KvStatus.Ok : KvStatus.NotFound;
        }

        if (_leases.ContainsKey(id))
        {
            return KvStatus.LeaseExists;
        }

        if (_leases.Count >= KvLimits.LeasesMax)
        {
            return KvStatus.LeasesFull;
        }

        _leases.Add(id, new KvLease(id, command.LeaseTtlSeconds, slot) { Owner = UnderOwnerRules(command) ? command.User : "" });
        _newGrants.Add(id);
        return KvStatus.Ok;
    }

    /// <summary>Deletes a lease and every key attached to it, all at the next revision (taken only if it had a key).</summary>
    private bool EndLease(long id)
    {
        if (!_leases.Remove(id, out var lease))
        {
            return false;
        }

        if (lease.Keys.Count == 0)
        {
            return true;
        }

        var revision = RevisionsStarted ? Revision + 1 : 0;
        foreach (var key in lease.Keys)
        {
            if (_keyLeases.Remove(key))
            {
                DataBytes -= LeasedKeyBytes(key.Length);
            }

            if (TryGetEntry(key, out var current))
            {
                Delete(key);
                _keyIndex.Remove(key);
                RecordEvent(revision, key, null, current);
            }
        }

        if (RevisionsStarted)
        {
            Revision = revision;
        }

        return true;
    }

    /// <summary>Attaches a key just written to <paramref name="lease"/> (0: detaches it from any).</summary>
    private void AttachLease(byte[] key, long lease)
    {
        if (_keyLeases.Count == 0 && lease == 0)
        {
            return;
        }

        DetachLease(key);
        if (lease != 0)
        {
            _keyLeases[key] = lease;
            _leases[lease].Keys.Add(key);
            DataBytes += LeasedKeyBytes(key.Length);
        }
    }

    /// <summary>A key deleted: it leaves its lease.</summary>
    private void DetachLease(byte[] key)
    {
        if (_keyLeases.Count > 0 && _keyLeases.Remove(key, out var previous))
        {
            DataBytes -= LeasedKeyBytes(key.Length);
            if (_leases.TryGetValue(previous, out var old))
            {
                old.Keys.Remove(key);
            }
        }
    }

    /// <summary>What a leased key counts for in <see cref="DataBytes"/> once more: its lease lists it in a snapshot.</summary>
    private static long LeasedKeyBytes(int keyBytes) => keyBytes + 2;

    /// <summary>Whether the lease a write names exists (0: it names none).</summary>
    private bool LeaseMissing(long lease) => lease != 0 && !_leases.ContainsKey(lease);

    /// <summary>
    /// What attaching these keys would break: a lease that does not exist, or one that would hold more than
    /// <see cref="KvLimits.LeaseKeysMax"/> keys (a key it holds already does not count again); null when they fit.
    /// </summary>
    private KvStatus? LeaseProblem(IEnumerable<(byte[] Key, long Lease)> puts)
    {
        Dictionary<long, int>? added = null;
        foreach (var (key, lease) in puts)
        {
            if (lease == 0)
            {
                continue;
            }

            if (!_leases.TryGetValue(lease, out var held))
            {
                return KvStatus.LeaseNotFound;
            }

            if (held.Keys.Contains(key))
            {
                continue;
            }

            added ??= [];
            var count = added[lease] = added.GetValueOrDefault(lease) + 1;
            if (held.Keys.Count + count > KvLimits.LeaseKeysMax)
            {
                return KvStatus.LeaseKeysFull;
            }
        }

        return null;
    }

    /// <summary>The leases as a snapshot holds them: id order, each key list in bytewise order. A copy, so it may be serialised elsewhere.</summary>
    private LeaseView LeasesNow() =>
        new(LeaseEpoch, [.. _leases.Values.Select(lease => (lease.Id, lease.TtlSeconds, lease.GrantSlot, lease.Keys.ToArray()))]);

    private static long LeaseBytes(LeaseView leases)
    {
        long bytes = Varint.Size((ulong)leases.Epoch.Round) + Varint.Size((ulong)leases.Epoch.ReplicaId) + Varint.Size((ulong)leases.Leases.Length);
        foreach (var (id, ttl, grantSlot, keys) in leases.Leases)
        {
            bytes += Varint.Size((ulong)id) + Varint.Size((ulong)ttl) + Varint.Size((ulong)grantSlot) + Varint.Size((ulong)keys.Length);
            foreach (var key in keys)
            {
                bytes += Varint.Size((ulong)key.Length) + key.Length;
            }
        }

        return bytes;
    }

    private static void WriteLeases(ref ByteWriter writer, LeaseView leases)
    {
        writer.WriteVarint((ulong)leases.Epoch.Round);
        writer.WriteVarint((ulong)leases.Epoch.ReplicaId);
        writer.WriteVarint((ulong)leases.Leases.Length);
        foreach (var (id, ttl, grantSlot, keys) in leases.Leases)
        {
            writer.WriteVarint((ulong)id);
            writer.WriteVarint((ulong)ttl);
            writer.WriteVarint((ulong)grantSlot);
            writer.WriteVarint((ulong)keys.Length);
            foreach (var key in keys)
            {
                writer.WriteLengthPrefixed(key);
            }
        }
    }

    /// <summary>
    /// The leases of a version 5 snapshot: ids ascending in 1..LeaseIdMax, TTLs in range, each key present in the
    /// snapshot, in order within its lease and attached to one lease only.
    /// </summary>
    private void ReadLeases(ref ByteReader reader)
    {
        var round = reader.ReadVarint("lease epoch round");
        var replica = reader.ReadVarint("lease epoch replica");
        if (round > long.MaxValue || replica > int.MaxValue)
        {
            throw new KvFormatException($"The {SnapshotBody} has lease epoch {round}.{replica}, beyond the largest ballot.");
        }

        LeaseEpoch = new KvEpoch((long)round, (int)replica);
        var count = ReadCount(ref reader, "lease count", 3);
        if (count > KvLimits.LeasesMax)
        {
            throw new KvFormatException($"The {SnapshotBody} has {count} leases, over LeasesMax ({KvLimits.LeasesMax}).");
        }

        long previous = 0;
        for (var index = 0; index < count; index++)
        {
            var id = reader.ReadVarint("lease id");
            var ttl = reader.ReadVarint("lease ttl");
            var grantSlot = reader.ReadVarint("lease grant slot");
            if (id <= (ulong)previous || id > (ulong)RequestRules.LeaseIdMax || ttl < 1 || ttl > (ulong)RequestRules.LeaseTtlSecondsMax
                || grantSlot < 1 || grantSlot > (ulong)AppliedSlot)
            {
                throw new KvFormatException(
                    $"The {SnapshotBody} has, in lease #{index}, id {id} (ids ascend, in 1..{RequestRules.LeaseIdMax}), TTL {ttl} (1..{RequestRules.LeaseTtlSecondsMax} seconds) and grant slot {grantSlot} (1..{AppliedSlot}).");
            }

            var lease = new KvLease((long)id, (long)ttl, (long)grantSlot);
            _leases.Add(lease.Id, lease);
            var keys = ReadCount(ref reader, "lease key count", 2);
            byte[]? previousKey = null;
            for (var k = 0; k < keys; k++)
            {
                var key = reader.ReadLengthPrefixed("lease key", KvLimits.KeyBytesMax, nameof(KvLimits.KeyBytesMax)).ToArray();
                if ((previousKey is not null && ByteArrayComparer.Instance.Compare(previousKey, key) >= 0) || !TryGetEntry(key, out _) || !_keyLeases.TryAdd(key, lease.Id))
                {
                    throw new KvFormatException(
                        $"The {SnapshotBody} has, in lease #{index} (id {id}), key #{k} out of order, absent from the snapshot's keys, or attached to another lease too.");
                }

                lease.Keys.Add(key);
                DataBytes += LeasedKeyBytes(key.Length);
                previousKey = key;
            }

            previous = (long)id;
        }
    }

    private void HashLeases(XxHash3 hash)
    {
        if (_leases.Count == 0 && LeaseEpoch == default)
        {
            // A state that never used leases hashes as it did before them.
            return;
        }

        Span<byte> number = stackalloc byte[sizeof(long)];
        foreach (var value in (ReadOnlySpan<long>)[LeaseEpoch.Round, LeaseEpoch.ReplicaId, _leases.Count])
        {
            BinaryPrimitives.WriteInt64LittleEndian(number, value);
            hash.Append(number);
        }

        foreach (var lease in _leases.Values)
        {
            foreach (var value in (ReadOnlySpan<long>)[lease.Id, lease.TtlSeconds, lease.GrantSlot, lease.Keys.Count])
            {
                BinaryPrimitives.WriteInt64LittleEndian(number, value);
                hash.Append(number);
            }

            foreach (var key in lease.Keys)
            {
                BinaryPrimitives.WriteInt32LittleEndian(number, key.Length);
                hash.Append(number[..sizeof(int)]);
                hash.Append(key);
            }

            if (lease.Owner.Length != 0)
            {
                // Only leases granted by a user: a state without them hashes as before.
                var owner = System.Text.Encoding.UTF8.GetBytes(lease.Owner);
                BinaryPrimitives.WriteInt32LittleEndian(number, -owner.Length);
                hash.Append(number[..sizeof(int)]);
                hash.Append(owner);
            }
        }
    }

    /// <summary>One lease: its TTL, the slot its grant was applied at, and the keys attached to it, in bytewise order.</summary>
    private sealed class KvLease(long id, long ttlSeconds, long grantSlot)
    {
        /// <summary>
        /// The user whose command granted it ("": none named). While authentication is on, only it (or a root user) may
        /// attach keys to the lease or revoke it, so no other user can hold its revoke up with a key it may not write.
        /// </summary>
        public string Owner { get; set; } = "";

        public long Id { get; } = id;

        public long TtlSeconds { get; } = ttlSeconds;

        public long GrantSlot { get; } = grantSlot;

        public SortedSet<byte[]> Keys { get; } = new(ByteArrayComparer.Instance);
    }

    /// <summary>The leases frozen for a snapshot.</summary>
    private sealed record LeaseView(KvEpoch Epoch, (long Id, long TtlSeconds, long GrantSlot, byte[][] Keys)[] Leases);
}
