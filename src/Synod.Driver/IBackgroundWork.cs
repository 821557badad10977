using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// Work the driver must not do on the owner's thread: serialising a snapshot of the whole state. The shell runs
/// <see cref="KvSnapshotJob.Serialize"/> elsewhere (a pool thread, or a later simulated moment, while the owner keeps
/// applying into the overlay) and then calls <see cref="ReplicaDriver.SnapshotSerialized"/> on the owner's thread.
/// Memory of its own it serialised into (outside the collected heap) it hands over with the data; the driver disposes
/// of it once nothing holds the data, and no thread of the shell may read it after handing it over.
/// </summary>
public interface IBackgroundWork
{
    void SerializeSnapshot(KvStateMachine stateMachine, KvSnapshotJob job);
}
