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

    private readonly List<SimLeaseHolder> _leaseHolders = [];
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
            var holder = new SimLeaseHolder(i);
            _leaseHolders.Add(holder);
            Schedule(NowMs + _leaseRandom.Next(300), null, () => LeaseStep(holder));
        }
    }

    /// <summary>One step of a holder: register, grant, attach, keep alive, pause or revoke, as its state says.</summary>
    private void LeaseStep(SimLeaseHolder holder)
    {
        if (_finished || _leaseHoldersStopped)
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
        var bytes = command.Encode();
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
                holder.Leader = 0;
                Schedule(NowMs + 20, null, () => LeaseStep(holder));
                return;
            }

            if (outcome.Status is KvStatus.SessionExpired or KvStatus.UnknownClient)
            {
                // Start over with a new client id; the lease (if granted unseen) is left to expire.
                holder.ClientId = 0;
                holder.Sequence = 0;
                holder.Lease = null;
            }
            else if (holder.ClientId == 0)
            {
                holder.ClientId = outcome.RegisteredClientId;
                holder.Sequence = 0;
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

            Schedule(NowMs + LeaseTtlMs / 3 - _leaseRandom.Next((int)(LeaseTtlMs / 10)), null, () => LeaseStep(holder));
        });
    }

    /// <summary>After each slot a replica applies: the oracle's checks on leases as that replica now holds them.</summary>
    internal void CheckLeasesAt(SimReplicaHost host)
    {
        if (_leases.Count == 0)
        {
            return;
        }

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
