using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>The last record of a checkpoint begun by a <see cref="CheckpointMarkerOp"/> of the same snapshot slot.</summary>
internal sealed record CheckpointEndOp(long SnapshotSlot) : PersistOp;
