using Synod.Core.Persistence;

namespace Synod.Driver;

/// <summary>The replica's durable log as the driver sees it: the server's WAL, or the simulator's model of one.</summary>
public interface IReplicaLog
{
    /// <summary>Bytes written to the log since the last snapshot (a snapshot is due past SnapshotEveryBytes).</summary>
    long BytesSinceSnapshot { get; }

    /// <summary>A snapshot is being written or waits to be; no new one is started meanwhile.</summary>
    bool SnapshotBusy { get; }

    /// <summary>
    /// Writes a Ready's records. With a <paramref name="syncToken"/> they must be durable before the Ready's messages
    /// leave: return true if they are durable now, or false and call <see cref="ReplicaDriver.Synced"/> with the token
    /// once they are. Without one (records of what is already chosen) they are written and made durable by a later
    /// sync; return true.
    /// </summary>
    bool Write(IReadOnlyList<PersistOp> ops, long? syncToken);

    /// <summary>
    /// A snapshot installed from a peer, which the next <see cref="Write"/> carries as this very op: the log may begin
    /// writing its file now, beside the state machine's restore from the same bytes, as long as the snapshot still
    /// becomes durable in that Write's order (after the records before it, before any after it).
    /// </summary>
    void PrepareInstall(SnapshotOp snapshot);

    /// <summary>
    /// Once after each snapshot became durable (or was recovered at start): its slot and its stored bytes as the log
    /// holds them now (a view of its file), which the core keeps instead of the bytes it was handed; null otherwise.
    /// </summary>
    (long Slot, ReadOnlyMemory<byte> Data)? TakeStoredSnapshot();

    /// <summary>
    /// Whether the log still holds <paramref name="data"/> (by identity): a snapshot waiting to be written or being
    /// written, or its own record of one until the stored copy replaces it. Snapshot memory lent to the core is given
    /// back only once neither holds it.
    /// </summary>
    bool HoldsSnapshotBytes(ReadOnlyMemory<byte> data);
}
