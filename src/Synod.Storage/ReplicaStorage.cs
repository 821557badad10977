using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>
/// One replica's data directory: a write-ahead log of <see cref="PersistOp"/> records in segments under <c>wal/</c>,
/// snapshots under <c>snap/</c>, a <c>synod.meta</c> naming the format and the replica, and a <c>LOCK</c> held while
/// it is open. <see cref="Append"/> writes a Ready's ops, <see cref="Sync"/> makes everything appended durable with one
/// fsync (group commit); snapshots are written beside the log and then let it be compacted
/// (<see cref="TakePendingSnapshot"/>, <see cref="CompleteSnapshot"/>). Owned by one thread, except
/// <see cref="SnapshotWrite.Run"/>. An <see cref="IOException"/> from the disk leaves it in an unknown state: stop the
/// replica. Layout, record format and recovery rules: docs/storage.md.
/// </summary>
public sealed partial class ReplicaStorage : IDisposable
{
    /// <summary>Encoded records are written out once this many are buffered (a Ready is usually far smaller).</summary>
    private const int WriteBufferBytesMax = 1024 * 1024;

    /// <summary>
    /// A write buffer grown past this by one huge record is let go after its write; below it, it is kept. A fresh
    /// buffer per large record (a 1 MiB value) cost this VM about 2.5 ms of page faults each.
    /// </summary>
    private const int WriteBufferKeptBytes = 8 * 1024 * 1024;

    private readonly IDisk _disk;
    private readonly StorageOptions _options;
    private readonly Action<string> _log;
    private readonly IDisposable _lock;
    private readonly string _walDirectory;
    private readonly string _snapshotDirectory;
    private readonly List<SegmentFile> _closedSegments;
    private readonly DurableState _mirror;
    private IDiskFile _current;
    private long _currentSequence;
    private long _closedBytes;
    private long _unsyncedBytes;
    private byte[] _writeBuffer = new byte[64 * 1024];
    private int _bufferedBytes;
    private bool _disposed;

    private ReplicaStorage(IDisk disk, string directory, int replicaId, StorageOptions options, Action<string> log, IDisposable lockHandle, DurableState state, RecoveredWal wal)
    {
        _disk = disk;
        _options = options;
        _log = log;
        _lock = lockHandle;
        Directory = directory;
        ReplicaId = replicaId;
        State = state;
        _mirror = state.Clone();
        _walDirectory = Path.Combine(directory, StorageLayout.WalDirectoryName);
        _snapshotDirectory = Path.Combine(directory, StorageLayout.SnapshotDirectoryName);
        _closedSegments = wal.ClosedSegments;
        _closedBytes = wal.ClosedSegments.Sum(segment => segment.Bytes);
        _current = wal.Current;
        _currentSequence = wal.CurrentSequence;
        SnapshotSlot = state.SnapshotSlot;
        _snapshotToMap = state.SnapshotData is null ? 0 : state.SnapshotSlot;
        BytesSinceSnapshot = WalBytes;
    }

    /// <summary>The file whose presence marks a data directory that holds Synod state.</summary>
    public const string MetaFileName = StorageLayout.MetaFileName;

    /// <summary>The file a replica holds locked for its whole life; the kernel releases it when the process dies.</summary>
    public const string LockFileName = StorageLayout.LockFileName;

    public string Directory { get; }

    public int ReplicaId { get; }

    /// <summary>
    /// What was recovered when the storage was opened (the snapshot, then the log replayed), to build the core from. Not
    /// updated afterwards, except that its snapshot becomes the mapped file (<see cref="TakeStoredSnapshot"/>), and its
    /// snapshot and entries are let go once the host has built its core (<see cref="ForgetRecoveredData"/>).
    /// </summary>
    public DurableState State { get; }

    /// <summary>Records written to the WAL since open, checkpoint records included.</summary>
    public long RecordsWritten { get; private set; }

    /// <summary>Bytes written to the WAL since open, headers and checkpoints included.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>WAL fsyncs since open (one per <see cref="Sync"/> with something to sync, one per segment roll).</summary>
    public long Syncs { get; private set; }

    /// <summary>Segments created since open.</summary>
    public long SegmentsCreated { get; private set; }

    /// <summary>Segments on disk now, the current one included.</summary>
    public int SegmentCount => _closedSegments.Count + 1;

    /// <summary>The size of the WAL on disk now, over every segment.</summary>
    public long WalBytes => _closedBytes + _current.Length + _bufferedBytes;

    /// <summary>WAL bytes appended since the last snapshot compacted the log (since open, the whole WAL): when to snapshot.</summary>
    public long BytesSinceSnapshot { get; private set; }

    /// <summary>The slot of the newest snapshot file that is durable.</summary>
    public long SnapshotSlot { get; private set; }

    /// <summary>Snapshot files written since open.</summary>
    public long SnapshotsWritten { get; private set; }

    /// <summary>
    /// Writes the ops as WAL records (a <see cref="SnapshotOp"/> goes to a snapshot file instead). Nothing is durable
    /// until <see cref="Sync"/>, except that a segment roll syncs the segment it closes. Every op is checked against
    /// the limits before any is written: a <see cref="StorageException"/> for one that is too large leaves the log as
    /// it was.
    /// </summary>
    public void Append(IReadOnlyList<PersistOp> ops)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var op in ops)
        {
            CheckLimits(op);
        }

        foreach (var op in ops)
        {
            if (op is SnapshotOp snapshot)
            {
                WriteBuffered();
                AcceptSnapshot(snapshot);
                continue;
            }

            BufferRecord(op);
            _mirror.Apply(op);
        }

        WriteBuffered();
    }

    /// <summary>One fsync that makes every record appended since the last one durable.</summary>
    public void Sync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteBuffered();
        if (_unsyncedBytes == 0)
        {
            return;
        }

        _current.Sync();
        Syncs++;
        _unsyncedBytes = 0;
    }

    /// <summary>A copy of the state as appended so far (synced or not), snapshots included: what a clean restart recovers.</summary>
    public DurableState CloneAppendedState() => _mirror.Clone();

    /// <summary>Closes the log and releases the lock. A <see cref="SnapshotWrite"/> or <see cref="StorageCleanup"/> still running must be awaited first.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _current.Dispose();
        _lock.Dispose();
    }

    private void CheckLimits(PersistOp op)
    {
        if (op is SnapshotOp snapshot)
        {
            if (snapshot.Data.Length > _options.SnapshotBytesMax)
            {
                throw new StorageException($"A snapshot of {snapshot.Data.Length} bytes for slot {snapshot.Slot} exceeds StorageOptions.SnapshotBytesMax ({_options.SnapshotBytesMax} bytes); it was not written. Raise the limit or make the state machine smaller.");
            }

            return;
        }

        var bytes = RecordEncoder.PayloadBytes(op);
        if (bytes > _options.RecordBytesMax)
        {
            throw new StorageException($"A WAL record of {bytes} bytes ({RecordEncoder.Describe(op)}) exceeds StorageOptions.RecordBytesMax ({_options.RecordBytesMax} bytes); nothing of this append was written. The core's batch limits must keep every record below it.");
        }
    }

    /// <summary>Encodes one record into the write buffer, rolling to a new segment first if it would overfill this one.</summary>
    private void BufferRecord(PersistOp op)
    {
        var payloadBytes = (int)RecordEncoder.PayloadBytes(op);
        var recordBytes = RecordFormat.HeaderBytes + payloadBytes;
        var segmentBytes = _current.Length + _bufferedBytes;
        if (segmentBytes > 0 && segmentBytes + recordBytes > _options.SegmentBytesMax)
        {
            WriteBuffered();
            Roll();
        }
        else if (_bufferedBytes + recordBytes > WriteBufferBytesMax)
        {
            WriteBuffered();
        }

        if (_writeBuffer.Length < _bufferedBytes + recordBytes)
        {
            Array.Resize(ref _writeBuffer, Math.Max(_bufferedBytes + recordBytes, _writeBuffer.Length * 2));
        }

        var record = _writeBuffer.AsSpan(_bufferedBytes, recordBytes);
        var payload = record[RecordFormat.HeaderBytes..];
        RecordEncoder.EncodePayload(op, payload);
        RecordFormat.WriteHeader(record[..RecordFormat.HeaderBytes], payload);
        _bufferedBytes += recordBytes;
        RecordsWritten++;
        BytesWritten += recordBytes;
        BytesSinceSnapshot += recordBytes;
    }

    private void WriteBuffered()
    {
        if (_bufferedBytes == 0)
        {
            return;
        }

        _current.Append(_writeBuffer.AsSpan(0, _bufferedBytes));
        _unsyncedBytes += _bufferedBytes;
        _bufferedBytes = 0;
        if (_writeBuffer.Length > WriteBufferKeptBytes)
        {
            // One huge record should not pin a huge buffer for the life of the replica.
            _writeBuffer = new byte[WriteBufferBytesMax];
        }
    }

    /// <summary>
    /// Closes the current segment and starts the next. The closed one is cut to its last record (no zeros allocated
    /// ahead) and synced first, so that only the last segment can ever end in a torn record or unused space; the new
    /// one's directory entry is synced so that no later segment can outlive it.
    /// </summary>
    private void Roll()
    {
        WriteBuffered();
        if (_current.ReleaseAllocatedAhead() || _unsyncedBytes > 0)
        {
            _current.Sync();
            Syncs++;
            _unsyncedBytes = 0;
        }

        _closedSegments.Add(new SegmentFile(_currentSequence, _current.Length));
        _closedBytes += _current.Length;
        _current.Dispose();
        _currentSequence++;
        _current = _disk.Open(Path.Combine(_walDirectory, StorageLayout.SegmentFileName(_currentSequence)), allocateAhead: true);
        _disk.SyncDirectory(_walDirectory);
        SegmentsCreated++;
    }
}
