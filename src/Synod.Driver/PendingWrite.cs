namespace Synod.Driver;

/// <summary>
/// A write waiting for its slot to be applied: the command (to propose again if the leader changes before it is
/// chosen) and every request waiting for it (a client's retry of the same write joins the first).
/// </summary>
internal sealed class PendingWrite(byte[] command, long tick)
{
    /// <summary>The tick at which the latest request joined; the write is dropped <see cref="DriverOptions.WaiterTicksMax"/> after it.</summary>
    public long JoinedTick { get; set; } = tick;

    /// <summary>The first request's command; a retry carries the same client id and sequence, so the same write.</summary>
    public byte[] Command { get; } = command;

    public List<IAnswer<WriteOutcome>> Waiters { get; } = [];

    /// <summary>What this write holds back of the write quota until it is applied or given up (its growth, at most).</summary>
    public long QuotaReserved { get; set; }

    /// <summary>
    /// A snapshot was installed while the write waited, so a copy of it may have been applied out of this replica's
    /// sight (a copy proposed again after a leader change, or the first one, chosen in a slot the snapshot covers). A
    /// later copy refused for a session that is gone then does not mean the write never took effect.
    /// </summary>
    public bool MayHaveBeenAppliedUnseen { get; set; }

    /// <summary>Whether any request still waits; one that gave up (deadline) is abandoned.</summary>
    public bool IsWaited => Waiters.Exists(w => !w.Abandoned);
}
