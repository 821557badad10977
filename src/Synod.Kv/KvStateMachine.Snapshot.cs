using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Synod.Kv;

/// <summary>
/// Snapshot and restore. Layout (README.md has the full table): a 17-byte header — magic "SYKV",
/// version, body length (uint64 LE), CRC32C of the body (uint32 LE) — then the body: applied slot, the last
/// client id assigned (version 2), the revision and whether revisions have started (version 3), keys in bytewise order
/// with their values (and, version 3, their create and mod revisions and version), sessions in client-id order
/// (version 3: with the revision and the key's revisions and version their last answer gave).
/// Sorting makes the bytes a pure function of the state, so replicas with the same state write identical snapshots.
/// </summary>
public sealed partial class KvStateMachine
{
    /// <summary>The snapshot format this code writes: version 5 adds the leases to version 4.</summary>
    public const byte SnapshotFormatVersion = 5;

    /// <summary>
    /// Version 5 followed by users, roles and authentication (<see cref="KvAuth"/>, length-prefixed), the sessions' users
    /// and the leases' owners, written only once any was set: a cluster that never uses authentication writes what the
    /// builds before it read.
    /// </summary>
    public const byte SnapshotFormatVersionAuth = 7;

    /// <summary>
    /// Version 7 without the leases' owners: recognised only to be refused with what to do (upgrade through version 7),
    /// since its build let attaches and revokes through that this one refuses.
    /// </summary>
    private const byte SnapshotFormatVersionNoLeaseOwners = 6;

    /// <summary>The most bytes of the auth part of a snapshot: every limit's worth of users, roles and permissions.</summary>
    private const int AuthBytesMax = 64 * 1024 * 1024;

    /// <summary>The format with history but without leases, still read: it restores with no leases.</summary>
    private const byte SnapshotFormatVersionNoLeases = 4;

    /// <summary>The format with revisions but without history, still read: it restores with an empty window from the next revision.</summary>
    private const byte SnapshotFormatVersionNoHistory = 3;

    /// <summary>The format before revisions, still read: it restores with revisions not started (see ReadEntries).</summary>
    private const byte SnapshotFormatVersionNoRevisions = 2;

    /// <summary>The format before client ids were assigned through the log, still read (its last client id is 0).</summary>
    private const byte SnapshotFormatVersionUnassignedIds = 1;

    private const int SnapshotMagicBytes = 4;
    private const int SnapshotHeaderBytes = SnapshotMagicBytes + 1 + sizeof(ulong) + sizeof(uint);

    /// <summary>
    /// The bytes at the start of a snapshot its checksum does not cover (its header: magic, version, body length and the
    /// checksum itself), which <see cref="SnapshotProblem"/> can only check for form: a version flipped to another one
    /// still read passes it, and the restore fails. A replica sends them to peers as it checked them in memory.
    /// </summary>
    public const int SnapshotUncheckedBytes = SnapshotHeaderBytes;
    private const int SnapshotVersionOffset = SnapshotMagicBytes;
    private const int SnapshotBodyLengthOffset = SnapshotVersionOffset + 1;
    private const int SnapshotChecksumOffset = SnapshotBodyLengthOffset + sizeof(ulong);
    private const string SnapshotBody = "snapshot body";

    // The smallest encodings, used to bound counts read from a snapshot before allocating for them.
    private const int EntryBytesMin = 3;
    private const int SessionBytesMin = 4;
    private const int EventBytesMin = 4;

    private static ReadOnlySpan<byte> SnapshotMagic => "SYKV"u8;

    /// <summary>Writes the whole state: applied slot, every key and value, every session.</summary>
    /// <param name="bytesMax">The most the snapshot may have: past it, it is refused before anything is allocated.</param>
    /// <exception cref="KvSnapshotTooLargeException">The state does not fit in <paramref name="bytesMax"/> or in one array.</exception>
    public byte[] Snapshot(long bytesMax = long.MaxValue)
    {
        if (_overlay is not null)
        {
            throw new InvalidOperationException("A background snapshot is being taken (BeginSnapshot); finish it with EndSnapshot before taking another.");
        }

        return WholeArray(Serialize(
            [],
            AppliedSlot, LastClientId, Revision, RevisionsStarted, _entries, SortedKeys(), _sessions.OrderBy(pair => pair.Key).ToArray(), HistoryNow(), LeasesNow(), AuthSection(),
            bytesMax, AllocateArray));
    }

    /// <summary>Memory for a snapshot from the collected heap; every byte is written, so it need not be zeroed first.</summary>
    internal static Memory<byte> AllocateArray(int bytes) => GC.AllocateUninitializedArray<byte>(bytes);

    /// <summary>The array <paramref name="memory"/> is the whole of, as <see cref="AllocateArray"/> gives it: no copy.</summary>
    internal static byte[] WholeArray(Memory<byte> memory) =>
        MemoryMarshal.TryGetArray<byte>(memory, out var array) && array.Offset == 0 && array.Count == array.Array!.Length
            ? array.Array
            : memory.ToArray();

    /// <summary>The snapshot bytes of a state: pure, so it may run on another thread over a frozen dictionary.</summary>
    /// <param name="allocate">Memory of exactly the given bytes for the whole snapshot, asked for once, after it was measured.</param>
    private static Memory<byte> Serialize(
        byte[] prefix,
        long appliedSlot, ulong lastClientId, long revision, bool revisionsStarted, Dictionary<byte[], KvEntry> entries, byte[][] keys,
        KeyValuePair<ulong, ClientSession>[] sessions, HistoryView history, LeaseView leases, byte[]? authBytes, long bytesMax,
        Func<int, Memory<byte>> allocate)
    {
        var bodyBytes = SnapshotBodyBytes(appliedSlot, lastClientId, revision, entries, keys, sessions, history) + LeaseBytes(leases)
            + (authBytes?.Length ?? 0);
        var wholeBytes = prefix.Length + SnapshotHeaderBytes + bodyBytes;
        if (wholeBytes > Math.Min(bytesMax, Array.MaxLength))
        {
            // Measured before anything is allocated: a state too large is found at the cost of one pass over its keys.
            throw new KvSnapshotTooLargeException(wholeBytes, Math.Min(bytesMax, Array.MaxLength));
        }

        // Every byte is written below, so the memory need not be zeroed first (a pass over the whole state saved).
        var whole = allocate(prefix.Length + SnapshotHeaderBytes + (int)bodyBytes);
        if (whole.Length != prefix.Length + SnapshotHeaderBytes + bodyBytes)
        {
            throw new InvalidOperationException($"The snapshot needs {prefix.Length + SnapshotHeaderBytes + bodyBytes} bytes; it was given {whole.Length}.");
        }

        prefix.CopyTo(whole.Span);
        var snapshot = whole.Span[prefix.Length..];
        var writer = new ByteWriter(snapshot[SnapshotHeaderBytes..]);
        writer.WriteVarint((ulong)appliedSlot);
        writer.WriteVarint(lastClientId);
        writer.WriteVarint((ulong)revision);
        writer.WriteByte(revisionsStarted ? (byte)1 : (byte)0);
        writer.WriteVarint((ulong)keys.Length);
        foreach (var key in keys)
        {
            var entry = entries[key];
            writer.WriteLengthPrefixed(key);
            writer.WriteLengthPrefixed(entry.Value.Span);
            writer.WriteVarint((ulong)entry.CreateRevision);
            writer.WriteVarint((ulong)entry.ModRevision);
            writer.WriteVarint((ulong)entry.Version);
        }

        writer.WriteVarint((ulong)sessions.Length);
        foreach (var (clientId, session) in sessions)
        {
            writer.WriteVarint(clientId);
            writer.WriteVarint(session.LastSequence);
            writer.WriteByte((byte)session.LastStatus);
            writer.WriteVarint((ulong)session.LastUsedSlot);
            writer.WriteVarint((ulong)session.LastRevision);
            writer.WriteVarint((ulong)session.LastCreateRevision);
            writer.WriteVarint((ulong)session.LastModRevision);
            writer.WriteVarint((ulong)session.LastVersion);
        }

        writer.WriteByte(history.Started ? (byte)1 : (byte)0);
        writer.WriteVarint((ulong)history.CompactRevision);
        writer.WriteVarint((ulong)history.Count);
        foreach (var change in history.Events())
        {
            writer.WriteVarint((ulong)change.Revision);
            writer.WriteLengthPrefixed(change.Key);
            writer.WriteByte((byte)((change.Entry is null ? 0 : 1) | (change.Previous is null ? 0 : 2)));
            foreach (var entry in (ReadOnlySpan<KvEntry?>)[change.Entry, change.Previous])
            {
                if (entry is { } written)
                {
                    writer.WriteLengthPrefixed(written.Value.Span);
                    writer.WriteVarint((ulong)written.CreateRevision);
                    writer.WriteVarint((ulong)written.ModRevision);
                    writer.WriteVarint((ulong)written.Version);
                }
            }
        }

        WriteLeases(ref writer, leases);
        if (authBytes is not null)
        {
            writer.WriteBytes(authBytes);
        }

        if (writer.Position != bodyBytes)
        {
            throw new InvalidOperationException($"The snapshot body came to {writer.Position} bytes, not the {bodyBytes} measured for it.");
        }

        var body = snapshot[SnapshotHeaderBytes..];
        SnapshotMagic.CopyTo(snapshot);
        snapshot[SnapshotVersionOffset] = authBytes is null ? SnapshotFormatVersion : SnapshotFormatVersionAuth;
        BinaryPrimitives.WriteUInt64LittleEndian(snapshot[SnapshotBodyLengthOffset..], (ulong)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(snapshot[SnapshotChecksumOffset..], Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, body));
        return whole;
    }

    /// <summary>
    /// Rebuilds a state machine from <see cref="Snapshot"/> bytes. If the snapshot holds more sessions than
    /// <paramref name="sessionsMax"/>, the least recently used are evicted, as they would have been.
    /// </summary>
    /// <exception cref="KvFormatException">Bad magic or version, truncation, trailing bytes, a checksum mismatch, or a malformed body.</exception>
    public static KvStateMachine Restore(
        ReadOnlySpan<byte> snapshot, int sessionsMax = KvLimits.SessionsMaxDefault, KvBugs bugs = KvBugs.None, KvHistoryLimits? history = null) =>
        Restore(snapshot, default, sessionsMax, bugs, history);

    /// <summary>
    /// <see cref="Restore(ReadOnlySpan{byte}, int, KvBugs, KvHistoryLimits?)"/>, and with <paramref name="keepSlices"/>
    /// without copying the values: each restored value is a slice of <paramref name="snapshot"/>, which then stays alive
    /// (the collector's doing) until every value restored from it has been overwritten, deleted or moved out
    /// (<see cref="RestoredValuesMovedPerCommand"/>). At 2.75M keys of 256 B that is 2.75M arrays (770 MB) a restart or
    /// a catch-up no longer allocates, and as many objects fewer for every full collection to mark (docs/performance.md,
    /// "Restored values as slices of the snapshot"). Only for memory that is never written again and stays readable while
    /// referenced (the replica driver passes a managed array only); never memory that is freed by hand.
    /// </summary>
    public static KvStateMachine Restore(
        ReadOnlyMemory<byte> snapshot, bool keepSlices, int sessionsMax = KvLimits.SessionsMaxDefault, KvBugs bugs = KvBugs.None, KvHistoryLimits? history = null) =>
        Restore(snapshot.Span, keepSlices && snapshot.Length >= SnapshotHeaderBytes ? new RestoredValues(snapshot[SnapshotHeaderBytes..]) : default,
            sessionsMax, bugs, history);

    private static KvStateMachine Restore(
        ReadOnlySpan<byte> snapshot, RestoredValues values, int sessionsMax, KvBugs bugs, KvHistoryLimits? history)
    {
        var body = CheckedSnapshotBody(snapshot, out var version);
        var machine = new KvStateMachine(sessionsMax, bugs, history);
        var reader = new ByteReader(body, SnapshotBody);
        var appliedSlot = reader.ReadVarint("applied slot");
        if (appliedSlot > long.MaxValue)
        {
            throw new KvFormatException($"The {SnapshotBody} has applied slot {appliedSlot}, beyond the largest slot ({long.MaxValue}).");
        }

        machine.AppliedSlot = (long)appliedSlot;
        machine.LastClientId = version == SnapshotFormatVersionUnassignedIds ? 0 : reader.ReadVarint("last client id");
        if (machine.LastClientId > ClientIdMax)
        {
            throw new KvFormatException($"The {SnapshotBody} has last client id {machine.LastClientId}, above the largest one assigned ({ClientIdMax}).");
        }

        var revisions = version is SnapshotFormatVersionAuth or SnapshotFormatVersion or SnapshotFormatVersionNoLeases or SnapshotFormatVersionNoHistory;
        if (revisions)
        {
            var revision = reader.ReadVarint("revision");
            if (revision > RevisionMax)
            {
                throw new KvFormatException($"The {SnapshotBody} has revision {revision}, above the largest ({RevisionMax}).");
            }

            machine.Revision = (long)revision;
            machine.RevisionsStarted = reader.ReadByte("revisions started") switch
            {
                0 when revision == 0 => false,
                1 => true,
                var flag => throw new KvFormatException($"The {SnapshotBody} has revisions-started flag {flag} with revision {revision}; expected 1, or 0 with revision 0."),
            };
        }

        if (machine.ReadEntries(ref reader, revisions, values) is { Length: > 0 } restoredKeys && values.Body is { } restoredBody)
        {
            machine.KeepRestoredArray(BackingOf(restoredBody), restoredKeys);
        }

        if (!revisions && (bugs & KvBugs.RevisionsStartAtRestore) != 0)
        {
            machine.StartRevisions();
        }

        machine.ReadSessions(ref reader, emptySessionsAllowed: version != SnapshotFormatVersionUnassignedIds, revisions);
        if (version is SnapshotFormatVersionAuth or SnapshotFormatVersion or SnapshotFormatVersionNoLeases)
        {
            machine.ReadHistory(ref reader, values);
        }

        if (version is SnapshotFormatVersionAuth or SnapshotFormatVersion)
        {
            machine.ReadLeases(ref reader);
        }

        if (version is SnapshotFormatVersionAuth)
        {
            machine.ReadAuthSection(ref reader);
        }

        reader.ExpectEnd();
        machine.TrimHistory();
        machine.EvictDownTo(sessionsMax);
        return machine;
    }

    private static long SnapshotBodyBytes(
        long appliedSlot, ulong lastClientId, long revision, Dictionary<byte[], KvEntry> entries, byte[][] keys,
        KeyValuePair<ulong, ClientSession>[] sessions, HistoryView history)
    {
        long bytes = Varint.Size((ulong)appliedSlot) + Varint.Size(lastClientId) + Varint.Size((ulong)revision) + 1
            + Varint.Size((ulong)keys.Length) + Varint.Size((ulong)sessions.Length);
        foreach (var key in keys)
        {
            var entry = entries[key];
            bytes += Varint.Size((ulong)key.Length) + key.Length + Varint.Size((ulong)entry.Value.Length) + entry.Value.Length
                + Varint.Size((ulong)entry.CreateRevision) + Varint.Size((ulong)entry.ModRevision) + Varint.Size((ulong)entry.Version);
        }

        foreach (var (clientId, session) in sessions)
        {
            bytes += Varint.Size(clientId) + Varint.Size(session.LastSequence) + 1 + Varint.Size((ulong)session.LastUsedSlot)
                + Varint.Size((ulong)session.LastRevision) + Varint.Size((ulong)session.LastCreateRevision)
                + Varint.Size((ulong)session.LastModRevision) + Varint.Size((ulong)session.LastVersion);
        }

        bytes += 1 + Varint.Size((ulong)history.CompactRevision) + Varint.Size((ulong)history.Count);
        foreach (var change in history.Events())
        {
            bytes += Varint.Size((ulong)change.Revision) + Varint.Size((ulong)change.Key.Length) + change.Key.Length + 1;
            foreach (var entry in (ReadOnlySpan<KvEntry?>)[change.Entry, change.Previous])
            {
                if (entry is { } written)
                {
                    bytes += Varint.Size((ulong)written.Value.Length) + written.Value.Length + Varint.Size((ulong)written.CreateRevision)
                        + Varint.Size((ulong)written.ModRevision) + Varint.Size((ulong)written.Version);
                }
            }
        }

        return bytes;
    }

    /// <summary>
    /// Refuses, before a replica starts, a snapshot of the one format this build knows and will not restore (format 6,
    /// <see cref="NoLeaseOwnersRefused"/>), so that the start fails with one line instead of in the owner loop. Any other
    /// problem (a damaged body, an unknown format) is left to <see cref="Restore"/>.
    /// </summary>
    public static void CheckFormat(ReadOnlySpan<byte> snapshot)
    {
        if (snapshot.Length >= SnapshotHeaderBytes && snapshot[SnapshotVersionOffset] == SnapshotFormatVersionNoLeaseOwners && snapshot[..SnapshotMagicBytes].SequenceEqual(SnapshotMagic))
        {
            throw NoLeaseOwnersRefused();
        }
    }

    /// <summary>
    /// Why a format-6 snapshot is refused, with every step of the way on. Not only its leases matter: an attach or revoke
    /// that build let through (and later builds refuse) leaves nothing in a later snapshot to tell, so replicas that
    /// replay the log would part from one that restored it; and the build with owners reads format 6 without a check,
    /// so passing through it alone does not help: the old build must first stop making such verdicts.
    /// </summary>
    private static KvFormatException NoLeaseOwnersRefused() =>
        new("The snapshot was written by the build before lease owners (snapshot format 6, peer version 6), whose lease grants, attaches and revokes " +
            "later builds judge differently when they replay them. Upgrade in three steps (docs/security.md, \"Upgrading in place\"): " +
            "(1) with the version-6 build, revoke every lease, grant none and change no users, roles or authentication settings, and let every replica take a snapshot after that; " +
            "(2) run the build with lease owners (peer version 7) on every replica until each has taken a snapshot again; (3) start this build.");

    /// <summary>
    /// What is wrong with a snapshot's header or body checksum, or null if nothing: a learner checks a snapshot it
    /// assembled from a peer's chunks before it installs it, so that a damaged one is refused and fetched again rather
    /// than persisted and then refused by every restore.
    /// </summary>
    public static string? SnapshotProblem(ReadOnlySpan<byte> snapshot)
    {
        try
        {
            CheckedSnapshotBody(snapshot, out _);
            return null;
        }
        catch (KvFormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Checks the header and the body's checksum, and returns the body.</summary>
    private static ReadOnlySpan<byte> CheckedSnapshotBody(ReadOnlySpan<byte> snapshot, out byte version)
    {
        if (snapshot.Length < SnapshotHeaderBytes)
        {
            throw new KvFormatException(
                $"The snapshot is truncated: it is {snapshot.Length} bytes, shorter than its {SnapshotHeaderBytes}-byte header.");
        }

        if (!snapshot[..SnapshotMagicBytes].SequenceEqual(SnapshotMagic))
        {
            throw new KvFormatException(
                $"The bytes are not a Synod KV snapshot: they start with {Convert.ToHexString(snapshot[..SnapshotMagicBytes])}, not the magic \"SYKV\".");
        }

        version = snapshot[SnapshotVersionOffset];
        if (version is not (SnapshotFormatVersionAuth or SnapshotFormatVersionNoLeaseOwners or SnapshotFormatVersion or SnapshotFormatVersionNoLeases or SnapshotFormatVersionNoHistory or SnapshotFormatVersionNoRevisions or SnapshotFormatVersionUnassignedIds))
        {
            throw new KvFormatException(
                $"The snapshot has version {version}; only versions {SnapshotFormatVersionUnassignedIds} to {SnapshotFormatVersionAuth} are understood.");
        }

        var bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(snapshot[SnapshotBodyLengthOffset..]);
        var body = snapshot[SnapshotHeaderBytes..];
        if (bodyLength != (ulong)body.Length)
        {
            var problem = bodyLength > (ulong)body.Length ? "truncated" : "followed by trailing bytes";
            throw new KvFormatException(
                $"The snapshot is {problem}: its header announces a {bodyLength}-byte body but {body.Length} bytes follow the header.");
        }

        var storedChecksum = BinaryPrimitives.ReadUInt32LittleEndian(snapshot[SnapshotChecksumOffset..]);
        var actualChecksum = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, body);
        if (storedChecksum != actualChecksum)
        {
            throw new KvFormatException(
                $"The snapshot is corrupt: the body's CRC32C checksum is 0x{actualChecksum:x8} but the header records 0x{storedChecksum:x8}.");
        }

        if (version == SnapshotFormatVersionNoLeaseOwners)
        {
            throw NoLeaseOwnersRefused();
        }

        return body;
    }

    /// <summary>
    /// The keys in order. A snapshot from before revisions (version 1 or 2), or one taken before they started, holds
    /// keys without revisions (all 0): the first command of the current encoding applied numbers them, at the same slot
    /// on every replica (<see cref="StartRevisions"/>).
    /// </summary>
    /// <returns>The keys read, in order, when the values are slices of the snapshot's array; otherwise null.</returns>
    private byte[][]? ReadEntries(ref ByteReader reader, bool revisions, RestoredValues values)
    {
        var count = ReadCount(ref reader, "key count", EntryBytesMin);
        _entries.EnsureCapacity(count);
        var keys = values.Body is null ? null : new byte[count][];
        byte[]? previous = null;
        for (var index = 0; index < count; index++)
        {
            var key = reader.ReadLengthPrefixed("key", KvLimits.KeyBytesMax, nameof(KvLimits.KeyBytesMax)).ToArray();
            var value = values.Take(reader.ReadLengthPrefixed("value", KvLimits.ValueBytesMax, nameof(KvLimits.ValueBytesMax)), reader.Position);

            // Strictly ascending order is what Snapshot() writes; it also rules out empty and duplicate keys.
            if (key.Length == 0 || (previous is not null && ByteArrayComparer.Instance.Compare(previous, key) >= 0))
            {
                throw new KvFormatException(
                    $"The {SnapshotBody} has key #{index} out of order, empty or repeated (offset {reader.Position}).");
            }

            var entry = new KvEntry(value, 0, 0, 0);
            if (revisions)
            {
                var create = reader.ReadVarint("create revision");
                var modified = reader.ReadVarint("mod revision");
                var version = reader.ReadVarint("version");
                var valid = RevisionsStarted
                    ? create != 0 && create <= modified && modified <= (ulong)Revision && version != 0 && version <= modified
                    : create == 0 && modified == 0 && version == 0;
                if (!valid)
                {
                    throw new KvFormatException(
                        $"The {SnapshotBody} has key #{index} with create revision {create}, mod revision {modified} and version {version}: " +
                        (RevisionsStarted
                            ? $"they must satisfy 1 <= create <= mod <= the revision ({Revision}) and 1 <= version <= mod."
                            : "before revisions start they must all be 0."));
                }

                entry = new KvEntry(value, (long)create, (long)modified, (long)version);
            }

            _entries.Add(key, entry);
            _keyIndex.Add(key);
            DataBytes += EntryBytes(key.Length, value.Length);
            previous = key;
            if (keys is not null)
            {
                keys[index] = key;
            }
        }

        return keys;
    }

    private void ReadSessions(ref ByteReader reader, bool emptySessionsAllowed, bool revisions)
    {
        var count = ReadCount(ref reader, "session count", SessionBytesMin);
        ulong? previousClientId = null;
        for (var index = 0; index < count; index++)
        {
            var clientId = reader.ReadVarint("client id");
            var lastSequence = reader.ReadVarint("last sequence");
            var lastStatus = (KvStatus)reader.ReadByte("last status");
            var lastUsedSlot = reader.ReadVarint("last used slot");
            var lastRevision = revisions ? reader.ReadVarint("last revision") : 0;
            var lastCreate = revisions ? reader.ReadVarint("last create revision") : 0;
            var lastModified = revisions ? reader.ReadVarint("last mod revision") : 0;
            var lastVersion = revisions ? reader.ReadVarint("last version") : 0;
            var problem =
                clientId <= previousClientId ? "a client id out of order or repeated"
                : lastSequence == 0 && !emptySessionsAllowed ? "last sequence 0, which a version 1 snapshot cannot hold"
                : lastSequence == 0 && lastStatus != KvStatus.Ok ? "last sequence 0 (a registration, never used) with a status other than Ok"
                : lastStatus is not (KvStatus.Ok or KvStatus.NotFound or KvStatus.CompareFailed or KvStatus.RevisionInFuture or KvStatus.LeaseNotFound or KvStatus.LeaseExists or KvStatus.LeasesFull or KvStatus.LeaseKeysFull
                    or KvStatus.PermissionDenied or KvStatus.AuthExists or KvStatus.AuthRootRequired or KvStatus.AuthFull) ? $"a recorded status {(byte)lastStatus} that no applied command can have"
                : lastUsedSlot == 0 || lastUsedSlot > (ulong)AppliedSlot ? $"last used slot {lastUsedSlot} outside 1..{AppliedSlot}"
                : Math.Max(lastRevision, Math.Max(lastCreate, lastModified)) > (ulong)Revision || lastVersion > (ulong)RevisionMax
                    ? $"a last revision ({lastRevision}, {lastCreate}, {lastModified}) above the revision ({Revision}) or version {lastVersion}"
                : null;
            if (problem is not null)
            {
                throw new KvFormatException($"The {SnapshotBody} has, in session #{index} (client {clientId}), {problem}.");
            }

            RecordSession(clientId, new ClientSession(
                lastSequence, lastStatus, (long)lastUsedSlot, (long)lastRevision, (long)lastCreate, (long)lastModified, (long)lastVersion));
            previousClientId = clientId;
        }
    }

    /// <summary>
    /// Whether history has started, the compaction point and the changes kept (version 4). The changes must be what
    /// applying the log would have kept: in revision order, every revision from the compaction point to the revision
    /// present, each change's previous entry the entry the change before it to that key left, and each key's last
    /// change leaving the key as the snapshot holds it. Trimmed to this replica's limits afterwards.
    /// </summary>
    private void ReadHistory(ref ByteReader reader, RestoredValues values)
    {
        var started = reader.ReadByte("history started") switch
        {
            0 => false,
            1 when RevisionsStarted => true,
            var flag => throw new KvFormatException($"The {SnapshotBody} has history-started flag {flag}; expected 0, or 1 once revisions have started."),
        };
        var compactRevision = reader.ReadVarint("compact revision");
        if (started ? compactRevision < 1 || compactRevision > (ulong)Revision + 1 : compactRevision != (ulong)Revision + 1)
        {
            throw new KvFormatException(
                $"The {SnapshotBody} has compact revision {compactRevision}; it must lie in 1..{Revision + 1} (the revision + 1), and be the revision + 1 before history starts.");
        }

        HistoryStarted = started;
        _compactRevision = (long)compactRevision;
        var count = ReadCount(ref reader, "history change count", EventBytesMin);
        var previousRevision = _compactRevision;
        var last = new Dictionary<byte[], KvEntry?>(ByteArrayComparer.Instance);
        for (var index = 0; index < count; index++)
        {
            var revision = (long)Math.Min(reader.ReadVarint("change revision"), (ulong)long.MaxValue);
            var key = reader.ReadLengthPrefixed("change key", KvLimits.KeyBytesMax, nameof(KvLimits.KeyBytesMax)).ToArray();
            var flags = reader.ReadByte("change flags");
            var inOrder = index == 0 ? revision == _compactRevision : revision == previousRevision || revision == previousRevision + 1;
            if (!started || !inOrder || revision > Revision || key.Length == 0 || flags > 3)
            {
                throw new KvFormatException(
                    $"The {SnapshotBody} has, in history change #{index}, revision {revision} (the changes run in order from the compact revision, {_compactRevision}, to the revision, {Revision}, with none missing), a {key.Length}-byte key or flags {flags} (0 to 3).");
            }

            var entry = (flags & 1) != 0 ? ReadHistoryEntry(ref reader, values, index, revision, mustBeAt: true) : (KvEntry?)null;
            var previous = (flags & 2) != 0 ? ReadHistoryEntry(ref reader, values, index, revision - 1, mustBeAt: false) : (KvEntry?)null;
            if (last.TryGetValue(key, out var before) && !Equals(before, previous))
            {
                throw new KvFormatException($"The {SnapshotBody} has, in history change #{index}, a previous entry that is not what the change before it to the same key left.");
            }

            last[key] = entry;
            RecordEvent(revision, key, entry, previous);
            previousRevision = revision;
        }

        if (count > 0 ? previousRevision != Revision : started && _compactRevision <= Revision)
        {
            throw new KvFormatException($"The {SnapshotBody} keeps the changes from revision {_compactRevision} but they end at {(count > 0 ? previousRevision : _compactRevision - 1)}, not at the revision ({Revision}).");
        }

        foreach (var (key, entry) in last)
        {
            KvEntry? now = TryGetEntry(key, out var found) ? found : null;
            if (!Equals(now, entry))
            {
                throw new KvFormatException($"The {SnapshotBody} has a last change to a key that does not leave it as the snapshot holds it.");
            }
        }
    }

    private static KvEntry ReadHistoryEntry(ref ByteReader reader, RestoredValues values, int index, long revision, bool mustBeAt)
    {
        var value = values.Take(reader.ReadLengthPrefixed("change value", KvLimits.ValueBytesMax, nameof(KvLimits.ValueBytesMax)), reader.Position);
        var create = reader.ReadVarint("change create revision");
        var modified = reader.ReadVarint("change mod revision");
        var version = reader.ReadVarint("change version");
        var valid = create != 0 && create <= modified && version != 0 && version <= modified
            && (mustBeAt ? modified == (ulong)revision : modified <= (ulong)revision);
        if (!valid)
        {
            throw new KvFormatException(
                $"The {SnapshotBody} has, in history change #{index}, an entry with create revision {create}, mod revision {modified} and version {version} that no change at revision {(mustBeAt ? revision : revision + 1)} can have.");
        }

        return new KvEntry(value, (long)create, (long)modified, (long)version);
    }

    /// <summary>
    /// Where restored values are kept: slices of the snapshot's body (<paramref name="body"/>), or, without one, copies
    /// of their own.
    /// </summary>
    private readonly struct RestoredValues(ReadOnlyMemory<byte>? body)
    {
        public ReadOnlyMemory<byte>? Body => body;

        /// <summary><paramref name="value"/>, read from the body so that it ends at <paramref name="endInBody"/>.</summary>
        public ReadOnlyMemory<byte> Take(ReadOnlySpan<byte> value, int endInBody) =>
            value.IsEmpty ? ReadOnlyMemory<byte>.Empty
            : body is { } slices ? slices.Slice(endInBody - value.Length, value.Length)
            : value.ToArray();
    }

    /// <summary>The array or memory manager <paramref name="memory"/> is part of (null for empty memory or a string's).</summary>
    private static object? BackingOf(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) ? segment.Array
        : MemoryMarshal.TryGetMemoryManager<byte, System.Buffers.MemoryManager<byte>>(memory, out var manager) ? manager
        : null;

    /// <summary>Reads a count and rejects one that the remaining bytes cannot hold, before anything is allocated for it.</summary>
    private static int ReadCount(ref ByteReader reader, string field, int itemBytesMin)
    {
        var count = reader.ReadVarint(field);
        var countMax = (ulong)(reader.Remaining / itemBytesMin);
        if (count > countMax)
        {
            throw new KvFormatException(
                $"The {SnapshotBody} has a {field} of {count}, more than the remaining {reader.Remaining} bytes can hold.");
        }

        return (int)count;
    }
}
