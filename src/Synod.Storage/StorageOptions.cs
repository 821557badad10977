namespace Synod.Storage;

/// <summary>The storage's limits. <see cref="Validate"/> checks them, and how they relate, once at start.</summary>
public sealed class StorageOptions
{
    /// <summary>The smallest segment allowed (tests roll segments often with it).</summary>
    public const long SegmentBytesMin = 4 * 1024;

    /// <summary>Recovery reads a segment into memory whole, so a segment must fit one array with room to spare.</summary>
    public const long SegmentBytesLimit = 1024L * 1024 * 1024;

    /// <summary>The smallest record limit allowed: a record must at least hold one small batch.</summary>
    public const int RecordBytesMin = 1024;

    /// <summary>Snapshots are read and kept in memory whole, as one array.</summary>
    public const int SnapshotBytesLimit = 1024 * 1024 * 1024;

    /// <summary>A segment is closed, and a new one started, before a record would take it past this size.</summary>
    public long SegmentBytesMax { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// The largest record payload (one op). The core's batches are about a megabyte (ReplicaOptions.BatchBytesMax
    /// plus one command), so this leaves a wide margin; it is checked on write and again on read.
    /// </summary>
    public int RecordBytesMax { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// The largest snapshot (the state machine's encoding). It must be at least the core's ReplicaOptions.SnapshotBytesMax
    /// (1 GiB by default), or a snapshot the core accepts from a peer would be refused here (the server should check this where it builds both).
    /// </summary>
    public int SnapshotBytesMax { get; init; } = SnapshotBytesLimit;

    /// <summary>
    /// A bug switch for the simulator, never set elsewhere: the files a compaction supersedes are handed out for deletion
    /// before the checkpoint that replaces them is durable, so a crash in between leaves a log that recovery must refuse.
    /// </summary>
    public bool CleanupBeforeCheckpointSyncBug { get; init; }

    /// <summary>
    /// A bug switch for the simulator, never set elsewhere: the file of a snapshot installed from a peer, written ahead
    /// of its append (<see cref="ReplicaStorage.PrepareInstall"/>), is published without a sync of its data, so a crash
    /// afterwards leaves a snapshot file that recovery must refuse as damaged.
    /// </summary>
    public bool PreparedInstallUnsyncedBug { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence naming the setting and why it is wrong.</summary>
    public void Validate()
    {
        Require(SegmentBytesMax >= SegmentBytesMin && SegmentBytesMax <= SegmentBytesLimit,
            $"SegmentBytesMax is {SegmentBytesMax}; it must lie within {SegmentBytesMin}..{SegmentBytesLimit} bytes (recovery reads a segment into memory whole).");
        Require(RecordBytesMax >= RecordBytesMin,
            $"RecordBytesMax is {RecordBytesMax}; it must be at least {RecordBytesMin} bytes, or a record cannot hold a small batch.");
        Require(RecordBytesMax + RecordFormat.HeaderBytes <= SegmentBytesMax,
            $"RecordBytesMax ({RecordBytesMax}) plus its {RecordFormat.HeaderBytes}-byte header must fit in SegmentBytesMax ({SegmentBytesMax}), or one record could not fit in a segment.");
        Require(SnapshotBytesMax >= 1 && SnapshotBytesMax <= SnapshotBytesLimit,
            $"SnapshotBytesMax is {SnapshotBytesMax}; it must lie within 1..{SnapshotBytesLimit} bytes (a snapshot is read into memory whole).");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
