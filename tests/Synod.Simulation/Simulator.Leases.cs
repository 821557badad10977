using System.Text;
using Synod.Core;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// Lease holders, as Synod.Client's sessions run them: each registers, grants a lease, attaches two keys to it in one
/// transaction, and keeps it alive every third of its TTL at the replica it believes leads (another after a refusal),
/// now and then pausing past its TTL (so the lease expires) or revoking it, and then granting a new one. The oracle: a
/// lease ends only when its holder revoked it or when a full TTL has passed since the sending of the last keep-alive
/// (or the grant) that a leader acknowledged, however late the holder was before it; and
/// a lease's keys are present together or absent together on every replica after every slot.
/// </summary>
public sealed partial class Simulator
{
    private const int LeaseHoldersPerRun = 2;
    private const long LeaseTtlSeconds = 1;
    private const int LeaseAttemptMs = 300;

    private static readonly byte[] LockKey = "Qlock"u8.ToArray();
    private static readonly byte[] CounterKey = "Qcounter"u8.ToArray();

    private readonly List<SimLeaseHolder> _leaseHolders = [];
    private int _lockWritesAcknowledged;
    private int _lockWritesUnknown;
    private readonly Dictionary<long, SimLease> _leases = [];
    private SeededRandom? _leaseRandom;
    private bool _leaseHoldersStopped;

    /// <summary>Whether a fast clock ran in this seed: a leader that measures time fast may end leases early by the simulator's clock.</summary>
    private bool _fastClockSeen;

    private long LeaseTtlMs => LeaseTtlSeconds * 1000;

    private void StartLeaseHolders()
    {
        if (_leaseRandom is not null || BeforeUpgrade)
        {
            return;
        }

        _leaseRandom = new SeededRandom(Mix((ulong)Options.Seed, 0x1EA5));
        for (var i = 1; i <= LeaseHoldersPerRun; i++)
        {
            var holder = new SimLeaseHolder(i) { UnfencedLock = Options.UnfencedLock };
            _leaseHolders.Add(holder);
            Schedule(NowMs + _leaseRandom.Next(300), null, () => LeaseStep(holder));
        }
    }

    /// <summary>One step of a holder: register, grant, attach, keep alive, pause or revoke, as its state says.</summary>
    private void LeaseStep(SimLeaseHolder holder)
    {
        // Once the clients are done a holder only finishes the lock cycle it is in (a paused one writes late then).
        if (_finished || (_leaseHoldersStopped && holder.LockPhase == LockPhase.None))
        {
            return;
        }

        if (holder.PausedUntilMs > NowMs)
        {
            Schedule(holder.PausedUntilMs, null, () => LeaseStep(holder));
            return;
        }

        var attempt = ++holder.Attempt;
        var host = PickLeaseHost(holder);
        if (host is null)
        {
            Schedule(NowMs + 50, null, () => LeaseStep(holder));
            return;
        }

        // An attempt not answered in time is given up; the next step sends again (a write with the same sequence).
        Schedule(NowMs + LeaseAttemptMs, null, () =>
        {
            if (holder.Attempt == attempt && !_finished)
            {
                holder.Attempt++;
                holder.Leader = 0;
                LeaseStep(holder);
            }
        });

        if (holder.ClientId == 0)
        {
            holder.Nonce = ((ulong)holder.Index << 32) + (ulong)attempt;
            SendLeaseWrite(holder, attempt, host, new KvCommand(0, holder.Nonce, KvOperation.Register, [], []));
            return;
        }

        if (holder.Lease is null)
        {
            var id = ((long)holder.Index << 24) + ++holder.LeasesGranted;
            holder.Lease = new SimLease(id, holder.Index) { GrantSentMs = NowMs, LastAckSentMs = NowMs };
            _leases[id] = holder.Lease;
            holder.Sequence++;
        }

        var lease = holder.Lease;
        if (!lease.Granted)
        {
            SendLeaseWrite(holder, attempt, host, KvCommand.GrantLease(holder.ClientId, holder.Sequence, lease.Id, LeaseTtlSeconds));
            return;
        }

        if (!lease.KeysAttached)
        {
            var txn = new KvTxn([], [KvTxnOp.Put(lease.KeyA, "a"u8.ToArray(), lease.Id), KvTxnOp.Put(lease.KeyB, "b"u8.ToArray(), lease.Id)], []);
            SendLeaseWrite(holder, attempt, host, new KvCommand(holder.ClientId, holder.Sequence, KvOperation.Txn, [], []) { Txn = txn });
            return;
        }

        if (holder.LockPhase != LockPhase.None)
        {
            SendLeaseWrite(holder, attempt, host, LockCommand(holder, lease));
            return;
        }

        if (lease.Revoking)
        {
            SendLeaseWrite(holder, attempt, host, KvCommand.RevokeLease(holder.ClientId, holder.Sequence, lease.Id));
            return;
        }

        var sentMs = NowMs;
        var target = host;
        DeliverLease(target, () => target.KeepAlive(lease.Id, new SimLeaseAnswer(this, holder, attempt, target.Id, sentMs)));
    }

    private void SendLeaseWrite(SimLeaseHolder holder, long attempt, SimReplicaHost host, KvCommand command)
    {
        if (Authenticating)
        {
            command = command with { User = KvAuth.RootUser };
        }

        var bytes = AsBuilt(command.Encode());
        DeliverLease(host, () => host.LeaseWrite(command.ClientId, command.Sequence, bytes, new SimLeaseWriteAnswer(this, holder, attempt, host.Id)));
    }

    /// <summary>A client message or reply on the way: 1 to NetworkDelayMsMax ms, never lost (the holder's own timeouts are tested by pauses).</summary>
    private void DeliverLease(SimReplicaHost host, Action action)
    {
        var incarnation = host.Incarnation;
        Schedule(NowMs + 1 + _leaseRandom!.Next(Options.NetworkDelayMsMax), null, () =>
        {
            if (host.Up && host.Incarnation == incarnation)
            {
                action();
            }
        });
    }

    private SimReplicaHost? PickLeaseHost(SimLeaseHolder holder)
    {
        if (holder.Leader != 0 && Host(holder.Leader).Up)
        {
            return Host(holder.Leader);
        }

        var up = _hosts.Where(h => h.Up).ToList();
        return up.Count == 0 ? null : up[_leaseRandom!.Next(up.Count)];
    }

    internal void OnLeaseWriteAnswer(SimLeaseHolder holder, long attempt, int replica, WriteOutcome? outcome)
    {
        Schedule(NowMs + 1 + _leaseRandom!.Next(Options.NetworkDelayMsMax), null, () =>
        {
            if (holder.Attempt != attempt || _finished)
            {
                return;
            }

            holder.Attempt++;
            if (outcome is null)
            {
                // Not answered: a fenced write may still have been applied.
                holder.WriteMaybeApplied |= holder.LockPhase == LockPhase.Write;
                holder.Leader = 0;
                Schedule(NowMs + 20, null, () => LeaseStep(holder));
                return;
            }

            if (outcome.Status is KvStatus.SessionExpired or KvStatus.UnknownClient)
            {
                // The client session was evicted (an idle holder's is the first to go): register a new client id and
                // send the same step again, as Synod.Client does. A lease does not belong to a client session. In the
                // middle of a lock cycle the step is sent again too; every step is the same bytes again, so a copy
                // applied earlier does no harm. Before the keys are attached the holder starts over with a new lease.
                holder.ClientId = 0;
                holder.Sequence = 0;
                holder.WriteMaybeApplied |= holder.LockPhase == LockPhase.Write;
                if (holder.LockPhase == LockPhase.None && holder.Lease is { KeysAttached: false })
                {
                    holder.Lease = null;
                }
            }
            else if (holder.ClientId == 0)
            {
                // A new holder's grant takes sequence 1; a holder that kept its lease sends its next step as 1.
                holder.ClientId = outcome.RegisteredClientId;
                holder.Sequence = holder.Lease is null ? 0UL : 1UL;
            }
            else if (holder.Lease is { } lease)
            {
                if (!lease.Granted)
                {
                    lease.Granted = outcome.Status == KvStatus.Ok;
                    holder.Sequence++;
                    if (!lease.Granted)
                    {
                        holder.Lease = null;
                    }
                }
                else if (!lease.KeysAttached)
                {
                    lease.KeysAttached = true;
                    holder.Sequence++;
                    if (outcome.Status == KvStatus.LeaseNotFound)
                    {
                        // It expired already (the holder was slow): the oracle judged whether that was early.
                        holder.Lease = null;
                    }
                }
                else if (holder.LockPhase != LockPhase.None)
                {
                    holder.Sequence++;
                    AdvanceLock(holder, lease, outcome);
                }
                else if (lease.Revoking)
                {
                    lease.Revoked = true;
                    holder.Sequence++;
                    holder.Lease = null;
                }
            }

            Schedule(NowMs + 1, null, () => LeaseStep(holder));
        });
    }

    internal void OnKeepAliveAnswer(SimLeaseHolder holder, long attempt, int replica, long sentMs, LeaseOutcome? outcome)
    {
        // The oracle's view: an acknowledgement is a fact when the leader sends it, whether or not it arrives. A leader
        // that says "kept alive" promises a full TTL from the keep-alive's sending, however late the holder was before.
        if (outcome is { Found: true } && _leases.TryGetValue(outcome.Id, out var acknowledged))
        {
            if (acknowledged.EndedAtMs is { } ended)
            {
                Oracle.Report($"lease {acknowledged.Id}: replica {replica} acknowledged a keep-alive sent at {sentMs} ms (at {NowMs} ms), but a replica had applied its end at {ended} ms.");
            }

            acknowledged.LastAckSentMs = Math.Max(acknowledged.LastAckSentMs, sentMs);
        }

        Schedule(NowMs + 1 + _leaseRandom!.Next(Options.NetworkDelayMsMax), null, () =>
        {
            if (holder.Attempt != attempt || _finished)
            {
                return;
            }

            holder.Attempt++;
            if (outcome is null)
            {
                // Not the leader, or not yet measuring leases: ask another replica soon.
                holder.Leader = 0;
                Schedule(NowMs + 20, null, () => LeaseStep(holder));
                return;
            }

            holder.Leader = replica;
            if (!outcome.Found)
            {
                holder.Lease = null;
                Schedule(NowMs + 1, null, () => LeaseStep(holder));
                return;
            }

            var roll = _leaseRandom.Next(100);
            if (roll < 4 && !_healed)
            {
                // A pause past the TTL (a stopped process, a long collection): the lease may expire meanwhile.
                // Half the pauses end just after the TTL ran out, when the leader's expiry may be on its way into the log.
                holder.PausedUntilMs = NowMs + LeaseTtlMs + (_leaseRandom.Next(2) == 0 ? _leaseRandom.Next(150) : _leaseRandom.Next((int)LeaseTtlMs));
                Faults.LeaseHolderPauses++;
            }
            else if (roll < 7 && holder.Lease is { } lease)
            {
                lease.Revoking = true;
            }
            else if (roll < 30 && holder.Lease is not null && !_leaseHoldersStopped)
            {
                holder.LockPhase = LockPhase.Acquire;
                Schedule(NowMs + 1, null, () => LeaseStep(holder));
                return;
            }

            Schedule(NowMs + LeaseTtlMs / 3 - _leaseRandom.Next((int)(LeaseTtlMs / 10)), null, () => LeaseStep(holder));
        });
    }

    /// <summary>
    /// The lock recipe, as Synod.Client's mutex runs it with one key: take the lock key under the lease if it is free
    /// (the token is its create revision), read the counter, write it one higher with the token, fenced by a compare of
    /// the lock key's create revision with the token, and release the key if it is still the holder's. Between the read
    /// and the write the holder now and then pauses past its TTL, so the lock may pass on and its write must be refused.
    /// </summary>
    private static KvCommand LockCommand(SimLeaseHolder holder, SimLease lease)
    {
        var fenced = new KvTxnCompare(LockKey, new KvCondition(KvCompareTarget.CreateRevision, KvCompareOp.Equal, holder.LockToken, []));
        var txn = holder.LockPhase switch
        {
            LockPhase.Acquire => new KvTxn([new KvTxnCompare(LockKey, KvCondition.Absent)], [KvTxnOp.Put(LockKey, [], lease.Id)], []),
            LockPhase.Read => new KvTxn([], [KvTxnOp.Get(CounterKey)], []),
            LockPhase.Write => new KvTxn(
                holder.UnfencedLock ? [] : [fenced],
                [KvTxnOp.Put(CounterKey, Encoding.UTF8.GetBytes($"{holder.LockCount + 1}:{holder.LockToken}"))],
                []),
            _ => new KvTxn([fenced], [KvTxnOp.Delete(LockKey)], []),
        };
        return new KvCommand(holder.ClientId, holder.Sequence, KvOperation.Txn, [], []) { Txn = txn };
    }

    private void AdvanceLock(SimLeaseHolder holder, SimLease lease, WriteOutcome outcome)
    {
        var result = outcome.Txn;
        switch (holder.LockPhase)
        {
            case LockPhase.Acquire when result is { Succeeded: true, Results.Count: > 0 } && result.Results[0].Entry is { } entry:
                holder.LockToken = entry.CreateRevision;
                holder.LockPhase = LockPhase.Read;
                Faults.LocksTaken++;
                break;
            case LockPhase.Read when result is { Results.Count: > 0 } && outcome.Status == KvStatus.Ok:
                holder.LockCount = result.Results[0].Entry is { } counter ? ParseCounter(counter.Value.Span).Count : 0;
                holder.LockPhase = LockPhase.Write;
                if (_leaseRandom!.Next(100) < 50 && !_healed)
                {
                    holder.PausedUntilMs = NowMs + LeaseTtlMs + 300 + _leaseRandom.Next((int)LeaseTtlMs);
                    Faults.LeaseHolderPauses++;
                }

                break;
            case LockPhase.Write:
                // A duplicate's answer has no branch results: applied once, but whether its compare held is unknown here.
                // A refusal after an unanswered attempt (or an evicted session) may follow a copy that was applied.
                _lockWritesAcknowledged += result is { Succeeded: true } && !outcome.Duplicate ? 1 : 0;
                _lockWritesUnknown += outcome.Duplicate || (result is { Succeeded: false } && holder.WriteMaybeApplied) ? 1 : 0;
                Faults.FencedWritesRefused += result is { Succeeded: false } && !outcome.Duplicate ? 1 : 0;
                holder.WriteMaybeApplied = false;
                holder.LockPhase = LockPhase.Release;
                break;
            default:
                // Not taken (held by another, or the lease is gone), or released: the cycle ends.
                holder.LockPhase = LockPhase.None;
                break;
        }

        if (outcome.Status == KvStatus.LeaseNotFound)
        {
            holder.LockPhase = LockPhase.None;
            holder.Lease = null;
        }
    }

    /// <summary>The counter's "COUNT:TOKEN"; (-1, -1) for anything else (only a broken protocol writes that, and the oracle says so).</summary>
    private static (long Count, long Token) ParseCounter(ReadOnlySpan<byte> value)
    {
        var parts = Encoding.UTF8.GetString(value).Split(':');
        return parts.Length == 2
            && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var token)
            ? (count, token)
            : (-1, -1);
    }

    /// <summary>
    /// The fenced counter as a replica holds it after a slot: it never goes back, and whenever it goes up, its token went
    /// up too (no holder wrote after a later holder had the lock).
    /// </summary>
    private void CheckCounterAt(SimReplicaHost host)
    {
        var now = host.Kv.TryGet(CounterKey, out var value) ? ParseCounter(value.Span) : (0, 0);
        var last = host.LastCounter;
        if (now.Count < 0)
        {
            Oracle.Report($"the fenced counter holds \"{Encoding.UTF8.GetString(value.Span)}\" on replica {host.Id} at slot {host.Kv.AppliedSlot}, which no holder writes.");
            return;
        }

        if (now.Count < last.Count || (now.Count == last.Count && now.Token != last.Token) || (now.Count > last.Count && now.Token <= last.Token))
        {
            Oracle.Report($"the fenced counter went from {last.Count}:{last.Token} to {now.Count}:{now.Token} on replica {host.Id} at slot {host.Kv.AppliedSlot}: a write was made on a stale read or by a holder that had lost the lock.");
        }

        host.LastCounter = now;
    }

    /// <summary>After healing, on the converged state: every acknowledged fenced increment is there, and no more than might be.</summary>
    private void CheckCounterAtEnd(KvStateMachine kv)
    {
        var count = kv.TryGet(CounterKey, out var value) ? ParseCounter(value.Span).Count : 0;
        if (count < _lockWritesAcknowledged || count > _lockWritesAcknowledged + _lockWritesUnknown)
        {
            _violations.Add($"the fenced counter ends at {count}, but {_lockWritesAcknowledged} increments were acknowledged and {_lockWritesUnknown} had an unknown outcome.");
        }
    }

    /// <summary>After each slot a replica applies: the oracle's checks on leases as that replica now holds them.</summary>
    internal void CheckLeasesAt(SimReplicaHost host)
    {
        if (_leases.Count == 0)
        {
            return;
        }

        CheckCounterAt(host);

        foreach (var lease in _leases.Values)
        {
            var present = host.Kv.TryGetLease(lease.Id, out _, out _);
            var a = host.Kv.TryGet(lease.KeyA, out _);
            var b = host.Kv.TryGet(lease.KeyB, out _);
            if (a != b)
            {
                Oracle.Report($"lease {lease.Id}: replica {host.Id} holds one of its keys without the other at slot {host.Kv.AppliedSlot}: they were written and must vanish together.");
            }

            if (!present && (a || b))
            {
                Oracle.Report($"lease {lease.Id}: replica {host.Id} holds a key of it at slot {host.Kv.AppliedSlot} after the lease ended.");
            }

            if (present)
            {
                host.LeasesSeen.Add(lease.Id);
                continue;
            }

            if (!host.LeasesSeen.Remove(lease.Id) || lease.EndedAtMs is not null)
            {
                continue;
            }

            lease.EndedAtMs = NowMs;
            Faults.LeasesEnded++;
            if (lease.Revoking)
            {
                continue;
            }

            Faults.LeasesExpired++;
            var earliest = lease.LastAckSentMs + LeaseTtlMs;
            if (NowMs < earliest && !_fastClockSeen)
            {
                Oracle.Report($"lease {lease.Id}: replica {host.Id} applied its expiry at {NowMs} ms, but a keep-alive sent at {lease.LastAckSentMs} ms was acknowledged, so it must last until {earliest} ms.");
            }
        }
    }

    internal sealed class SimLeaseHolder(int index)
    {
        public int Index { get; } = index;

        public ulong ClientId { get; set; }

        public ulong Sequence { get; set; }

        public ulong Nonce { get; set; }

        public long Attempt { get; set; }

        public int Leader { get; set; }

        public long PausedUntilMs { get; set; }

        public long LeasesGranted { get; set; }

        public SimLease? Lease { get; set; }

        public LockPhase LockPhase { get; set; }

        public long LockToken { get; set; }

        public long LockCount { get; set; }

        /// <summary>The fenced write of this cycle had an attempt that went unanswered or was refused for its session.</summary>
        public bool WriteMaybeApplied { get; set; }

        /// <summary>Writes the counter without the fencing compare (SimulationOptions.UnfencedLock).</summary>
        public bool UnfencedLock { get; init; }
    }

    internal enum LockPhase
    {
        None,
        Acquire,
        Read,
        Write,
        Release,
    }

    internal sealed class SimLease(long id, int holder)
    {
        public long Id { get; } = id;

        public byte[] KeyA { get; } = Encoding.UTF8.GetBytes($"L{holder}-{id}a");

        public byte[] KeyB { get; } = Encoding.UTF8.GetBytes($"L{holder}-{id}b");

        public long GrantSentMs { get; set; }

        public bool Granted { get; set; }

        public bool KeysAttached { get; set; }

        public bool Revoking { get; set; }

        public bool Revoked { get; set; }

        /// <summary>When the last keep-alive (or the grant) that a leader acknowledged was sent.</summary>
        public long LastAckSentMs { get; set; }

        public long? EndedAtMs { get; set; }

    }

    private sealed class SimLeaseWriteAnswer(Simulator sim, SimLeaseHolder holder, long attempt, int replica) : IAnswer<WriteOutcome>
    {
        public bool Abandoned => holder.Attempt != attempt;

        public void Complete(WriteOutcome result) => sim.OnLeaseWriteAnswer(holder, attempt, replica, result);

        public void Fail(ReplicaFailure failure) => sim.OnLeaseWriteAnswer(holder, attempt, replica, null);
    }

    private sealed class SimLeaseAnswer(Simulator sim, SimLeaseHolder holder, long attempt, int replica, long sentMs) : IAnswer<LeaseOutcome>
    {
        public bool Abandoned => false;

        public void Complete(LeaseOutcome result) => sim.OnKeepAliveAnswer(holder, attempt, replica, sentMs, result);

        public void Fail(ReplicaFailure failure) => sim.OnKeepAliveAnswer(holder, attempt, replica, sentMs, null);
    }
}
