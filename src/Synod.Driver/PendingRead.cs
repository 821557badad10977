using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// A read waiting for a confirmed read index and then for the state machine to apply that far: what it asks of the
/// state machine once it may be answered, and who waits for the answer.
/// </summary>
internal abstract class PendingRead
{
    public abstract bool Abandoned { get; }

    /// <summary>The tick at which the read began waiting for its index; it is dropped <see cref="DriverOptions.WaiterTicksMax"/> after it.</summary>
    public long SinceTick { get; set; }

    /// <summary>Answers from <paramref name="kv"/>, which has applied at least as far as the read index.</summary>
    public abstract void Answer(KvStateMachine kv, long lagSlots);

    public abstract void Fail(ReplicaFailure failure);

    /// <summary>A read of one key.</summary>
    public sealed class OfKey(byte[] key, long revision, IAnswer<ReadOutcome> answer) : PendingRead
    {
        public override bool Abandoned => answer.Abandoned;

        public override void Answer(KvStateMachine kv, long lagSlots) =>
            answer.Complete(RevisionRefusal.Of(kv, revision) is { } refused
                ? new ReadOutcome(null, kv.Revision, kv.AppliedSlot, lagSlots, refused)
                : new ReadOutcome(kv.TryGetEntryAt(key, revision, out var entry) ? entry : null, kv.Revision, kv.AppliedSlot, lagSlots));

        public override void Fail(ReplicaFailure failure) => answer.Fail(failure);
    }

    /// <summary>A read of a range of keys.</summary>
    public sealed class OfRange(KvRange range, long revision, IAnswer<RangeOutcome> answer) : PendingRead
    {
        public override bool Abandoned => answer.Abandoned;

        public override void Answer(KvStateMachine kv, long lagSlots) =>
            answer.Complete(RevisionRefusal.Of(kv, revision) is { } refused
                ? new RangeOutcome(new KvRangeResult([], More: false, 0), kv.Revision, kv.AppliedSlot, lagSlots, refused)
                : new RangeOutcome(kv.RangeAt(range, revision), kv.Revision, kv.AppliedSlot, lagSlots));

        public override void Fail(ReplicaFailure failure) => answer.Fail(failure);
    }

    /// <summary>A keep-alive or TTL query, answered by the leader that measures the lease once its ballot is confirmed.</summary>
    public sealed class OfLease(long id, bool withKeys, ReplicaDriver driver, IAnswer<LeaseOutcome> answer) : PendingRead
    {
        public override bool Abandoned => answer.Abandoned;

        public override void Answer(KvStateMachine kv, long lagSlots)
        {
            if (!kv.TryGetLease(id, out var ttl, out var keys))
            {
                answer.Complete(new LeaseOutcome(id, Found: false, 0, 0, []));
                return;
            }

            answer.Complete(new LeaseOutcome(id, Found: true, ttl, driver.RemainingSeconds(id, ttl), withKeys ? [.. keys] : []));
        }

        public override void Fail(ReplicaFailure failure) => answer.Fail(failure);
    }

    /// <summary>A list of the live leases.</summary>
    public sealed class OfLeases(int max, IAnswer<LeaseListOutcome> answer) : PendingRead
    {
        public override bool Abandoned => answer.Abandoned;

        public override void Answer(KvStateMachine kv, long lagSlots) =>
            answer.Complete(new LeaseListOutcome([.. kv.Leases().Take(max)], kv.LeaseCount > max));

        public override void Fail(ReplicaFailure failure) => answer.Fail(failure);
    }
}
