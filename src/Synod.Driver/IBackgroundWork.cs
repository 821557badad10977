using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// Work the driver must not do on the owner's thread: serialising a snapshot of the whole state. The shell runs
/// <see cref="KvSnapshotJob.Serialize"/> elsewhere (a pool thread, or a later simulated moment, while the owner keeps
/// applying into the overlay) and then calls <see cref="ReplicaDriver.SnapshotSerialized"/> on the owner's thread.
/// </summary>
public interface IBackgroundWork
{
    void SerializeSnapshot(KvStateMachine stateMachine, KvSnapshotJob job);
}
