using Synod.Core;

namespace Synod.Driver;

/// <summary>What the driver reports as it goes: the server logs it, the simulator checks it. Every method may do nothing.</summary>
public interface IReplicaEvents
{
    void RoleChanged(ReplicaRole role)
    {
    }

    void CandidacyFailed(string reason)
    {
    }

    /// <summary>A handover this leader started (<paramref name="started"/>) or gave up, in one sentence.</summary>
    void Handover(bool started, string line)
    {
    }

    /// <summary>
    /// Slot <paramref name="slot"/> was applied. The arrays are the log's, and the state machine keeps slices of them as
    /// values (KvCommand.DecodeSharingValue): read them, never write them.
    /// </summary>
    void Applied(long slot, byte[][] commands)
    {
    }

    /// <summary>
    /// A whole snapshot of <paramref name="bytes"/> at <paramref name="slot"/> (read at a start, or assembled from a
    /// peer's chunks) is installed next: its state machine is restored now, or taken as restored ahead.
    /// <see cref="SnapshotInstalled"/> follows once it is.
    /// </summary>
    void SnapshotInstalling(long slot, long bytes)
    {
    }

    void SnapshotInstalled(long slot, int keys, ReplicaRole roleWhenInstalled)
    {
    }

    void SnapshotTaken(long slot, double serializeMs)
    {
    }

    /// <summary>A snapshot of <paramref name="bytes"/> came out larger than the <paramref name="limit"/> a snapshot may have: it was not taken, and the log is kept.</summary>
    void SnapshotTooLarge(long slot, long bytes, long limit)
    {
    }
}
