using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>
/// The first record of a checkpoint (storage-internal, never handed to the core): the records up to the matching
/// <see cref="CheckpointEndOp"/> restate the state above the snapshot of SnapshotSlot; without its end (a crash cut it
/// short) it is no checkpoint. Recovery refuses a log whose first segment is not the first ever written and which holds
/// no whole checkpoint, or whose checkpoint's snapshot is missing: the segments or the snapshot before it were lost.
/// </summary>
internal sealed record CheckpointMarkerOp(long SnapshotSlot) : PersistOp;
