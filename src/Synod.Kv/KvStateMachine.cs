using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Synod.Kv;

/// <summary>
/// The deterministic key-value state machine. Every replica applies the same chosen slots in the same order
/// and so reaches the same keys, values, sessions, results, snapshot bytes and <see cref="ContentHash"/>.
/// Nothing here depends on time, randomness or dictionary enumeration order: whatever is enumerated for a
/// snapshot or a hash is sorted first. Not thread-safe; one owner loop drives it.
/// </summary>
/// <remarks>
/// Exactly-once: each client id has a session holding its last applied sequence and that command's status
/// (Raft dissertation §6.3). See <see cref="ApplyCommand"/> for the rules and README.md for why.
/// </remarks>
public sealed partial class KvStateMachine
{
    private readonly int _sessionsMax;
    private readonly KvBugs _bugs;
    private readonly Dictionary<byte[], KvEntry> _entries;
    private readonly Dictionary<byte[], KvEntry>.AlternateLookup<ReadOnlySpan<byte>> _entriesBySpan;
    private readonly Dictionary<ulong, ClientSession> _sessions = [];

    // Every key in bytewise order, for range reads: changed only when a key is created or deleted, never by a write to
    // a key that exists. Not part of a snapshot (restore rebuilds it), so a background snapshot never reads it.
    private readonly SortedKeyIndex _keyIndex = new();

    // Orders sessions for eviction: least recently used slot first, ties by lower client id. An entry may hold an
    // earlier use than its session's last (RecordSession); eviction corrects it when it comes first.
    private readonly SortedSet<(long LastUsedSlot, ulong ClientId)> _sessionsByLastUse = [];

    /// <param name="sessionsMax">Sessions kept; the least recently used beyond it are evicted.</param>
    /// <param name="bugs">Rules switched off, for tests and the simulator only.</param>
    /// <param name="history">How much history is kept; <see cref="KvHistoryLimits.Default"/> when null.</param>
    public KvStateMachine(int sessionsMax = KvLimits.SessionsMaxDefault, KvBugs bugs = KvBugs.None, KvHistoryLimits? history = null)
    {
        var limits = history ?? KvHistoryLimits.Default;
        if (limits.Problem() is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(history), limits, problem);
        }

        _historyLimits = limits;
        if (sessionsMax < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(sessionsMax), sessionsMax, "sessionsMax must be at least 1, or no client could ever be served exactly once.");
        }

        _sessionsMax = sessionsMax;
        _bugs = bugs;
        _entries = new Dictionary<byte[], KvEntry>(ByteArrayComparer.Instance);
        _entriesBySpan = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>The last slot applied; 0 before the first, since slots start at 1.</summary>
    public long AppliedSlot { get; private set; }

    /// <summary>
    /// The cluster revision: +1 for every command that changed a key (a put, a delete of a key that existed), the
    /// same on every replica at the same slot. 0 before the first change.
    /// </summary>
    public long Revision { get; private set; }

    /// <summary>
    /// Whether revisions are counted. A new state machine and one restored from a snapshot written before revisions
    /// start without; the first command of <see cref="KvCommand.FormatVersionBeforeHistory"/> or later applied starts them, numbering the keys
    /// there are 1..n in key order. That is a point in the log, the same slot on every replica, whatever snapshot each
    /// one restored or log it replayed, so every replica numbers the same (docs/api.md, "Revisions").
    /// </summary>
    public bool RevisionsStarted { get; private set; }

    /// <summary>The largest revision a snapshot may hold (2^53, the largest integer JSON keeps exact).</summary>
    public const long RevisionMax = 1L << 53;

    /// <summary>The number of keys.</summary>
    public int Count => _entries.Count + _overlayCountDelta;

    /// <summary>The number of client sessions kept.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>
    /// What one key counts for in <see cref="DataBytes"/> beyond its key and value bytes: about what its lengths and
    /// revisions take in a snapshot (16 bytes).
    /// </summary>
    public const int KeyOverheadBytes = 16;

    /// <summary>
    /// The bytes the keys and values take: every key and value plus <see cref="KeyOverheadBytes"/> per key, and a leased
    /// key's bytes once more (its lease lists it), close to what they take in a snapshot. A function of the keys and
    /// leases alone (a restored replica counts what a replaying one counts); the write quota (serve --quota-bytes) is
    /// judged against it.
    /// </summary>
    public long DataBytes { get; private set; }

    /// <summary>What a key with <paramref name="valueBytes"/> bytes of value counts for in <see cref="DataBytes"/>.</summary>
    public static long EntryBytes(int keyBytes, int valueBytes) => (long)keyBytes + valueBytes + KeyOverheadBytes;

    /// <summary>
    /// How much <see cref="DataBytes"/> would grow if <paramref name="command"/> were applied now (negative when it
    /// shrinks it): a put counts its key and value (and the key once more on a lease) less what the key counts for now;
    /// a transaction, the larger of its branches, each op in order (a delete subtracts what its key counts for by then);
    /// every other command 0. Lease attachments a transaction's puts change are counted as for a put.
    /// </summary>
    public long GrowthOf(KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.Operation switch
        {
            KvOperation.Put => BytesAfterPut(command.Key, command.ValueMemory.Length, command.Lease) - BytesNow(command.Key),
            KvOperation.Txn when command.Txn is { } txn => Math.Max(BranchGrowth(txn.Success), BranchGrowth(txn.Failure)),
            _ => 0,
        };
    }

    private long BranchGrowth(IReadOnlyList<KvTxnOp> ops)
    {
        long growth = 0;
        Dictionary<byte[], long>? written = null;
        foreach (var op in ops)
        {
            if (op.Kind is not (KvTxnOpKind.Put or KvTxnOpKind.Delete))
            {
                continue;
            }

            written ??= new Dictionary<byte[], long>(ByteArrayComparer.Instance);
            var before = written.TryGetValue(op.Key, out var earlier) ? earlier : BytesNow(op.Key);
            var after = op.Kind == KvTxnOpKind.Put ? BytesAfterPut(op.Key, op.Value.Length, op.Lease) : 0;
            growth += after - before;
            written[op.Key] = after;
        }

        return growth;
    }

    /// <summary>What a key counts for in <see cref="DataBytes"/> now: its entry, and its key again if on a lease; 0 when absent.</summary>
    private long BytesNow(byte[] key) =>
        !TryGetEntry(key, out var existing) ? 0
        : EntryBytes(key.Length, existing.Value.Length) + (LeaseOf(key) != 0 ? LeasedKeyBytes(key.Length) : 0);

    private static long BytesAfterPut(byte[] key, int valueLength, long lease) =>
        EntryBytes(key.Length, valueLength) + (lease != 0 ? LeasedKeyBytes(key.Length) : 0);

    /// <summary>
    /// Applies one slot's batch of commands in order and answers each. A command that does not decode or
    /// validate is answered <see cref="KvStatus.Invalid"/> and changes nothing; bad bytes never throw,
    /// because every replica applies the same bytes and a throw would stop them all. The value of a put is usually
    /// kept as a slice of its command's array (<see cref="KvCommand.DecodeSharingValue"/>), so the caller never
    /// writes these arrays afterwards.
    /// </summary>
    /// <exception cref="InvalidOperationException">The slot is not <see cref="AppliedSlot"/> + 1.</exception>
    public IReadOnlyList<AppliedCommand> ApplySlot(long slot, IReadOnlyList<byte[]> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        if (slot != AppliedSlot + 1)
        {
            throw new InvalidOperationException(
                $"Slot {slot} cannot be applied: slots apply in order and the last applied is {AppliedSlot}, so the next must be {AppliedSlot + 1}.");
        }

        var results = new AppliedCommand[commands.Count];
        for (var index = 0; index < results.Length; index++)
        {
            results[index] = ApplyBytes(slot, commands[index]);
        }

        AppliedSlot = slot;
        TrimHistory();
        MoveRestoredValues(results.Length);
        return results;
    }

    /// <summary>
    /// Looks a key up without allocating. The returned bytes are the stored value itself, shared to keep reads cheap.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlyMemory<byte> value)
    {
        if (TryGetEntry(key, out var entry))
        {
            value = entry.Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Looks a key up with its revisions, without allocating; the value is shared, as with <see cref="TryGet"/>.</summary>
    public bool TryGetEntry(ReadOnlySpan<byte> key, out KvEntry entry)
    {
        if (_overlay is not null && _overlayBySpan.TryGetValue(key, out var written))
        {
            entry = written.GetValueOrDefault();
            return written is not null;
        }

        return _entriesBySpan.TryGetValue(key, out entry);
    }

    /// <summary>
    /// The keys of <paramref name="range"/> as this replica has applied them, in bytewise order, bounded by the
    /// range's limit, <see cref="KvLimits.RangeKeysMax"/> and <see cref="KvLimits.RangeBytesMax"/>; past a bound the
    /// answer says "more" and stops: its count is then the keys returned plus one (a lower bound), so a page costs in
    /// proportion to what it returns, not to the range. A count-only range counts every key of the range. The values
    /// are the stored arrays, shared: callers must not modify them.
    /// </summary>
    public KvRangeResult Range(KvRange range) => Range(range, KvLimits.RangeKeysMax, KvLimits.RangeBytesMax);

    /// <summary>A range within what is left of a budget of keys and bytes (a transaction's reads share one).</summary>
    private KvRangeResult Range(KvRange range, int keysLeft, long bytesLeft)
    {
        ArgumentNullException.ThrowIfNull(range);
        return Range(range, keysLeft, bytesLeft, KeysOf(range), key => TryGetEntry(key, out var entry) ? entry : null);
    }

    /// <summary>A range over <paramref name="keys"/> (in order, all in the range) as <paramref name="lookup"/> finds them.</summary>
    private static KvRangeResult Range(KvRange range, int keysLeft, long bytesLeft, IEnumerable<byte[]> keys, Func<byte[], KvEntry?> lookup)
    {
        var keysMax = range.Limit == 0 ? keysLeft : Math.Min(range.Limit, keysLeft);

        // An answer of its own returns its first key whatever its size, so that every page makes progress; a range
        // sharing a transaction's budget does not go past what is left of it.
        var firstAlways = bytesLeft >= KvLimits.RangeBytesMax;
        var entries = new List<(byte[] Key, KvEntry Entry)>();
        long count = 0;
        long bytes = 0;
        foreach (var key in keys)
        {
            count++;
            if (range.CountOnly)
            {
                continue;
            }

            var entry = lookup(key) ?? throw new InvalidOperationException("A key of the key index has no entry: the index and the keys disagree.");

            var size = key.Length + (range.KeysOnly ? 0 : entry.Value.Length) + RequestRules.RangeEntryOverheadBytes;
            if (entries.Count >= keysMax || ((entries.Count > 0 || !firstAlways) && bytes + size > bytesLeft))
            {
                return new KvRangeResult(entries, More: true, count);
            }

            bytes += size;
            entries.Add((key, range.KeysOnly ? entry with { Value = ReadOnlyMemory<byte>.Empty } : entry));
        }

        return new KvRangeResult(entries, More: false, count);
    }

    private IEnumerable<byte[]> KeysOf(KvRange range)
    {
        if (range.To.Length == 0)
        {
            return _keyIndex.Between(range.From, null);
        }

        return ByteArrayComparer.Instance.Compare(range.From, range.To) >= 0 ? [] : _keyIndex.Between(range.From, range.To);
    }

    /// <summary>
    /// A 64-bit XxHash3 of <see cref="AppliedSlot"/>, <see cref="Revision"/> and every key, value and the key's
    /// revisions in bytewise key order, for comparing replicas. Sessions are left out: they are bookkeeping for
    /// retries, not the data.
    /// </summary>
    public ulong ContentHash()
    {
        var hash = new XxHash3();
        Span<byte> number = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(number, AppliedSlot);
        hash.Append(number);
        BinaryPrimitives.WriteInt64LittleEndian(number, RevisionsStarted ? Revision : -1);
        hash.Append(number);
        BinaryPrimitives.WriteInt64LittleEndian(number, Count);
        hash.Append(number);
        foreach (var key in SortedKeys())
        {
            if (!TryGetEntry(key, out var entry))
            {
                throw new InvalidOperationException("A sorted key has no value: the overlay and the frozen keys disagree.");
            }

            // Lengths go in so that ("ab", "c") and ("a", "bc") hash differently.
            BinaryPrimitives.WriteInt32LittleEndian(number, key.Length);
            BinaryPrimitives.WriteInt32LittleEndian(number[sizeof(int)..], entry.Value.Length);
            hash.Append(number);
            hash.Append(key);
            hash.Append(entry.Value.Span);
            foreach (var revision in (ReadOnlySpan<long>)[entry.CreateRevision, entry.ModRevision, entry.Version])
            {
                BinaryPrimitives.WriteInt64LittleEndian(number, revision);
                hash.Append(number);
            }
        }

        HashLeases(hash);
        if (!Auth.IsEmpty)
        {
            hash.Append(Auth.Encode());
        }

        return hash.GetCurrentHashAsUInt64();
    }

    private byte[][] SortedKeys()
    {
        var keys = _overlay is null
            ? _entries.Keys.ToArray()
            : [.. _entries.Keys.Where(key => !_overlay.ContainsKey(key)), .. _overlay.Where(pair => pair.Value is not null).Select(pair => pair.Key)];
        Array.Sort(keys, ByteArrayComparer.Instance);
        return keys;
    }

    private AppliedCommand ApplyBytes(long slot, byte[]? bytes)
    {
        if (bytes is null)
        {
            return new AppliedCommand(0, 0, KvStatus.Invalid, Duplicate: false);
        }

        KvCommand command;
        try
        {
            command = KvCommand.DecodeSharingValue(bytes);
        }
        catch (KvFormatException)
        {
            return new AppliedCommand(0, 0, KvStatus.Invalid, Duplicate: false);
        }

        if (command.EncodingVersion >= KvCommand.FormatVersionBeforeHistory && !RevisionsStarted)
        {
            StartRevisions();
        }

        if (command.EncodingVersion >= KvCommand.FormatVersion && !HistoryStarted)
        {
            StartHistory();
        }

        if (command.Validate() is not null)
        {
            return new AppliedCommand(command.ClientId, command.Sequence, KvStatus.Invalid, Duplicate: false);
        }

        return ApplyCommand(slot, command);
    }

    /// <summary>Numbers the keys 1..n in key order, each at version 1, and sets the revision to n.</summary>
    private void StartRevisions()
    {
        long revision = 0;
        foreach (var key in _keyIndex)
        {
            revision++;
            if (!TryGetEntry(key, out var entry))
            {
                throw new InvalidOperationException("A key of the key index has no entry: the index and the keys disagree.");
            }

            Put(key, new KvEntry(entry.Value, revision, revision, 1));
        }

        Revision = revision;
        RevisionsStarted = true;
    }

    /// <summary>
    /// Carries out a transaction whose session rules passed: every compare against the state as the log has it here,
    /// then the success or the failure operations in order, all at the next revision (taken only if one changed
    /// something); a read in it sees the writes before it in it.
    /// </summary>
    private KvTxnResult ExecuteTxn(KvTxn txn, out KvStatus? refused)
    {
        var holds = txn.Compares.All(compare => compare.Condition.Holds(TryGetEntry(compare.Key, out var entry) ? entry : null));
        refused = LeaseProblem((holds ? txn.Success : txn.Failure).Where(op => op.Kind == KvTxnOpKind.Put).Select(op => (op.Key, op.Lease)));
        if (refused is not null)
        {
            // A put of the branch to run names a lease that is gone (etcd's rule) or full: nothing of it runs.
            return new KvTxnResult(holds, []);
        }

        var revision = Revision + 1;
        var changed = false;
        var results = new List<KvTxnOpResult>();

        // All the reads of one transaction share one answer's bounds, so that its work and its answer are bounded
        // however many range operations it has: past them a range answers "more" with what fits.
        var keysLeft = KvLimits.RangeKeysMax;
        long bytesLeft = KvLimits.RangeBytesMax;
        foreach (var op in holds ? txn.Success : txn.Failure)
        {
            KvEntry? current = TryGetEntry(op.Key, out var found) ? found : null;
            switch (op.Kind)
            {
                case KvTxnOpKind.Put:
                    var entry = Written(current, op.Value, revision);
                    Put(op.Key, entry);
                    if (current is null)
                    {
                        _keyIndex.Add(op.Key);
                    }

                    AttachLease(op.Key, op.Lease);
                    RecordEvent(revision, op.Key, entry, current);
                    changed = true;
                    results.Add(new KvTxnOpResult(op.Kind, op.Key, Entry: entry with { Value = ReadOnlyMemory<byte>.Empty }));
                    break;
                case KvTxnOpKind.Delete:
                    if (current is not null)
                    {
                        Delete(op.Key);
                        _keyIndex.Remove(op.Key);
                        DetachLease(op.Key);
                        RecordEvent(revision, op.Key, null, current);
                        changed = true;
                    }

                    results.Add(new KvTxnOpResult(op.Kind, op.Key, Existed: current is not null));
                    break;
                case KvTxnOpKind.Get:
                    results.Add(new KvTxnOpResult(op.Kind, op.Key, Entry: current));
                    break;
                default:
                    var read = Range(new KvRange(op.Key, op.RangeEnd, op.Limit), Math.Max(0, keysLeft), Math.Max(0, bytesLeft));
                    keysLeft -= read.Entries.Count;
                    bytesLeft -= read.Entries.Sum(kv => (long)kv.Key.Length + kv.Entry.Value.Length + RequestRules.RangeEntryOverheadBytes);
                    results.Add(new KvTxnOpResult(op.Kind, op.Key, Range: read));
                    break;
            }
        }

        if (changed)
        {
            Revision = revision;
        }

        return new KvTxnResult(holds, results);
    }

    /// <summary>
    /// A key's entry after a put of <paramref name="value"/> at <paramref name="revision"/>: a new key is created there,
    /// an existing one counts one more version. Before revisions start (a log written before them) a key has none;
    /// <see cref="StartRevisions"/> numbers it.
    /// </summary>
    private KvEntry Written(KvEntry? current, ReadOnlyMemory<byte> value, long revision) =>
        !RevisionsStarted ? new KvEntry(value, 0, 0, 0)
        : current is { } existing ? new KvEntry(value, existing.CreateRevision, revision, existing.Version + 1)
        : new KvEntry(value, revision, revision, 1);

    /// <summary>
    /// Carries out a put or delete whose session rules passed: under its condition, if it has one. Returns the status
    /// and the key's entry afterwards (for a failed condition, as it stands; null when absent).
    /// </summary>
    private (KvStatus Status, KvEntry? Entry) Execute(KvCommand command)
    {
        if (command.Lease != 0 && LeaseProblem([(command.Key, command.Lease)]) is { } leaseRefused)
        {
            return (leaseRefused, TryGetEntry(command.Key, out var existing) ? existing : null);
        }

        if (command.Operation == KvOperation.Put && command.Condition is null && _overlay is null)
        {
            // The common put: one lookup of the dictionary, which the entry is then written through.
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, command.Key, out var existed);
            KvEntry? previous = existed ? slot : null;
            slot = Written(previous, command.ValueMemory, RevisionsStarted ? ++Revision : 0);
            DataBytes += EntryBytes(command.Key.Length, command.ValueMemory.Length) - (existed ? EntryBytes(command.Key.Length, previous!.Value.Value.Length) : 0);
            if (!existed)
            {
                _keyIndex.Add(command.Key);
            }

            AttachLease(command.Key, command.Lease);
            RecordEvent(Revision, command.Key, slot, previous);
            return (KvStatus.Ok, slot);
        }

        KvEntry? current = TryGetEntry(command.Key, out var found) ? found : null;
        if (command.Condition is { } condition && !condition.Holds(current))
        {
            return (KvStatus.CompareFailed, current);
        }

        switch (command.Operation)
        {
            case KvOperation.Put:
                var entry = Written(current, command.ValueMemory, RevisionsStarted ? ++Revision : 0);
                Put(command.Key, entry);
                if (current is null)
                {
                    _keyIndex.Add(command.Key);
                }

                AttachLease(command.Key, command.Lease);
                RecordEvent(Revision, command.Key, entry, current);
                return (KvStatus.Ok, entry);
            case KvOperation.Delete:
                if (current is null)
                {
                    return (KvStatus.NotFound, null);
                }

                if (RevisionsStarted)
                {
                    ++Revision;
                }

                Delete(command.Key);
                _keyIndex.Remove(command.Key);
                DetachLease(command.Key);
                RecordEvent(Revision, command.Key, null, current);
                return (KvStatus.Ok, null);
            default:
                // Validate() admits only Put and Delete, so reaching here is a broken invariant.
                throw new InvalidOperationException($"Operation {command.Operation} passed validation but has no implementation.");
        }
    }
}
