using Synod.Core;
using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// Lease clocks (docs/protocol.md, "Leases"). Only a leader measures leases, by its own ticks, and only once the epoch
/// it proposed for its ballot has been applied (so every expiry an earlier leader got chosen has been applied too, and
/// none it proposes later counts). From that moment each lease's clock starts again with its full TTL: a leader change
/// never shortens a lease. A keep-alive moves the deadline on and is answered once a read index confirms the ballot, so
/// a deposed leader's "kept alive" is never believed. A lease past its deadline is expired by proposing
/// <see cref="KvOperation.LeaseExpire"/> under the ballot; keep-alives are not logged.
/// </summary>
public sealed partial class ReplicaDriver
{
    // Per lease id: the grant the deadline is for (its slot), and the tick at which it runs out.
    private readonly Dictionary<long, (long GrantSlot, long Deadline)> _leaseDeadlines = [];
    private readonly Dictionary<long, long> _expiryProposedAt = [];

    // When to look at a lease next: its deadline, or when to propose its expiry again. Entries go stale (a keep-alive
    // moved the deadline, the lease ended) and are dropped when they come up, so a look costs in proportion to the
    // leases that come due, not to all of them; there are at most a few per lease (one per keep-alive within a TTL).
    private readonly PriorityQueue<(long Id, long GrantSlot), long> _dueAt = new();
    private readonly List<long> _newGrants = [];
    private Ballot? _leaseServingBallot;
    private Ballot? _epochProposedBallot;
    private long _epochProposedTick;
    private bool _leaseRequested;

    /// <summary>The shortest TTL a lease may be granted, in seconds: twice the longest an election can take, rounded up.</summary>
    public long LeaseTtlSecondsMin
    {
        get
        {
            var options = Core.Options;
            var ticks = 2L * (options.ElectionTimeoutTicks + options.ElectionStaggerTicks + options.ElectionJitterTicks);
            return Math.Max(1, (ticks * _options.TickMs + 999) / 1000);
        }
    }

    /// <summary>True when this replica leads and measures leases (its epoch is applied and no later one).</summary>
    public bool LeasesServing =>
        Core.Role == ReplicaRole.Leader && _leaseServingBallot == Core.Ballot && Kv.LeaseEpoch == EpochOf(Core.Ballot);

    /// <summary>
    /// A keep-alive of lease <paramref name="id"/>: answered by the leader that measures leases, once a read index
    /// confirms it still leads; elsewhere refused with <see cref="ReplicaFailure.NoLeader"/> (the client tries the leader).
    /// </summary>
    public void KeepAlive(long id, IAnswer<LeaseOutcome> answer) => LeaseRead(id, keepAlive: true, withKeys: false, answer);

    /// <summary>A lease's TTL, what is left of it and (with <paramref name="withKeys"/>) its keys, from the leader that measures it.</summary>
    public void TimeToLive(long id, bool withKeys, IAnswer<LeaseOutcome> answer) => LeaseRead(id, keepAlive: false, withKeys, answer);

    /// <summary>The live leases, at a confirmed read index, at most <paramref name="max"/> of them.</summary>
    public void ListLeases(int max, IAnswer<LeaseListOutcome> answer) => Read(new PendingRead.OfLeases(max, answer), stale: false);

    private void LeaseRead(long id, bool keepAlive, bool withKeys, IAnswer<LeaseOutcome> answer)
    {
        _leaseRequested = true;
        MaybeServeLeases(checkDeadlines: false);
        if (!LeasesServing)
        {
            answer.Fail(ReplicaFailure.NoLeader);
            return;
        }

        if (keepAlive && Kv.TryGetLease(id, out var ttl, out _))
        {
            var grantSlot = Kv.LeaseGrantSlot(id);
            var now = Core.CurrentTick;
            var expiring = _expiryProposedAt.ContainsKey(id)
                || (_leaseDeadlines.TryGetValue(id, out var known) && known.GrantSlot == grantSlot && known.Deadline <= now);
            if (expiring)
            {
                // Its TTL ran out here and its expiry may be on its way into the log: a "kept alive" now could be followed
                // by the expiry taking effect. Say it is gone (it is, or will be unless this leader falls first).
                answer.Complete(new LeaseOutcome(id, Found: false, 0, 0, []));
                return;
            }

            // Moved on before the ballot is confirmed: if it is not, the lease merely lasts longer.
            SetDeadline(id, grantSlot, now + TtlTicks(ttl));
            _expiryProposedAt.Remove(id);
        }

        Read(new PendingRead.OfLease(id, withKeys, this, answer), stale: false);
    }

    /// <summary>What is left of a lease's TTL by this leader's clock, in whole seconds rounded up; the TTL when it measures none.</summary>
    internal long RemainingSeconds(long id, long ttlSeconds) =>
        LeasesServing && _leaseDeadlines.TryGetValue(id, out var known)
            ? Math.Max(0, ((known.Deadline - Core.CurrentTick) * _options.TickMs + 999) / 1000)
            : ttlSeconds;

    /// <summary>
    /// A TTL in ticks, rounded up, and one tick more: the tick count read now may be up to a tick old, so the deadline
    /// tick comes no sooner than a full TTL after this moment.
    /// </summary>
    private long TtlTicks(long ttlSeconds) => ((ttlSeconds * 1000) + _options.TickMs - 1) / _options.TickMs + 1;

    private static KvEpoch EpochOf(Ballot ballot) => new(ballot.Round, ballot.ReplicaId);

    /// <summary>
    /// On ticks and after applying: a leader with leases to measure proposes its epoch (again, if it was lost), starts
    /// measuring once it is applied, and proposes the expiry of every lease past its deadline.
    /// </summary>
    private void MaybeServeLeases(bool checkDeadlines)
    {
        if (Core.Role != ReplicaRole.Leader)
        {
            _leaseServingBallot = null;
            if ((Core.Options.Bugs & ProtocolBugs.LeaderKeepsLeaseDeadlines) == 0)
            {
                _leaseDeadlines.Clear();
                _dueAt.Clear();
            }

            _expiryProposedAt.Clear();
            return;
        }

        var ballot = Core.Ballot;
        var epoch = EpochOf(ballot);
        if (Kv.LeaseEpoch != epoch)
        {
            _leaseServingBallot = null;
            var retry = _epochProposedBallot != ballot || Core.CurrentTick - _epochProposedTick >= _options.LeaseRetryTicks;
            if (Kv.LeaseEpoch < epoch && (Kv.LeaseCount > 0 || _leaseRequested) && retry)
            {
                _epochProposedBallot = ballot;
                _epochProposedTick = Core.CurrentTick;
                Core.Propose(KvCommand.LeaderEpochOf(epoch).Encode());
            }

            return;
        }

        if (_leaseServingBallot != ballot)
        {
            // This leader starts measuring: every lease gets its full TTL from now, whatever an earlier leader had left
            // of it (which this one never saw kept alive), unless the bug keeps the deadlines this replica noted before.
            _leaseServingBallot = ballot;
            _expiryProposedAt.Clear();
            if ((Core.Options.Bugs & ProtocolBugs.LeaderKeepsLeaseDeadlines) == 0)
            {
                _leaseDeadlines.Clear();
                _dueAt.Clear();
            }

            // Once per leadership, every lease (later grants come through NoteNewGrants as they are applied).
            var now = Core.CurrentTick;
            foreach (var (id, ttl, grantSlot) in Kv.LeaseGrants())
            {
                if (!_leaseDeadlines.TryGetValue(id, out var known) || known.GrantSlot != grantSlot)
                {
                    SetDeadline(id, grantSlot, now + TtlTicks(ttl));
                }
            }
        }

        if (checkDeadlines)
        {
            CheckLeaseDeadlines(epoch);
        }
    }

    private void SetDeadline(long id, long grantSlot, long deadline)
    {
        _leaseDeadlines[id] = (grantSlot, deadline);
        _dueAt.Enqueue((id, grantSlot), deadline);
    }

    /// <summary>
    /// Proposes the expiry of the leases that came due, at most <see cref="DriverOptions.LeaseExpiriesPerCheckMax"/> per
    /// look (many leases due at once go into the log a bounded batch at a time, so that client writes and the core's
    /// bounded proposal queue are not crowded out), and again after <see cref="DriverOptions.LeaseRetryTicks"/> if one
    /// was not applied.
    /// </summary>
    private void CheckLeaseDeadlines(KvEpoch epoch)
    {
        var now = Core.CurrentTick;
        var proposed = 0;
        while (proposed < _options.LeaseExpiriesPerCheckMax && _dueAt.TryPeek(out var item, out var due) && due <= now)
        {
            _dueAt.Dequeue();
            var (id, grantSlot) = item;
            if (!_leaseDeadlines.TryGetValue(id, out var known) || known.GrantSlot != grantSlot)
            {
                continue;
            }

            if (Kv.LeaseGrantSlot(id) != grantSlot)
            {
                // Revoked or expired (or granted again, which NoteNewGrants saw): nothing to measure any more.
                _leaseDeadlines.Remove(id);
                _expiryProposedAt.Remove(id);
                continue;
            }

            if (known.Deadline > now)
            {
                // A keep-alive moved it on; its own entry comes up then.
                continue;
            }

            if (_expiryProposedAt.TryGetValue(id, out var at) && now - at < _options.LeaseRetryTicks)
            {
                _dueAt.Enqueue(item, at + _options.LeaseRetryTicks);
                continue;
            }

            _expiryProposedAt[id] = now;
            proposed++;
            Core.Propose(KvCommand.ExpireLease(id, grantSlot, epoch).Encode());
            _dueAt.Enqueue(item, now + _options.LeaseRetryTicks);
        }
    }

    /// <summary>
    /// After applying: the leases granted meanwhile get their deadline from now at a leader that measures leases (and,
    /// under the bug <see cref="ProtocolBugs.LeaderKeepsLeaseDeadlines"/>, at every replica). Drained always, so the
    /// state machine's list stays short.
    /// </summary>
    private void NoteNewGrants()
    {
        Kv.TakeNewGrants(_newGrants);
        if (_newGrants.Count == 0)
        {
            return;
        }

        var noting = LeasesServing || ((Core.Options.Bugs & ProtocolBugs.LeaderKeepsLeaseDeadlines) != 0 && Core.Role != ReplicaRole.Leader);
        foreach (var id in noting ? _newGrants : [])
        {
            if (Kv.TryGetLease(id, out var ttl, out _))
            {
                SetDeadline(id, Kv.LeaseGrantSlot(id), Core.CurrentTick + TtlTicks(ttl));
                _expiryProposedAt.Remove(id);
            }
        }

        _newGrants.Clear();
    }
}

