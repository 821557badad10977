using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A partial partition around the preferred voter (issue 22's cold review, finding 2): the largest voter T, which does
/// not lead, can reach the leader L and no other replica, both ways, for three stability windows and two election
/// timeouts; what is in flight across the cut is lost, and so is what T sent L before it and in the first moments after
/// (heartbeats that still said T heard a quorum). Everyone but T hears a quorum, so L leads on. Two checks, each on its
/// own clock: once T's clock has run an election timeout past the cut, T never stands on a
/// TimeoutNow (bug handover-ignores-quorum breaks it; the fault itself asks L, once, to hand over to T, as an operator
/// naming T would); and once a heartbeat of T's saying so has reached L, L starts no handover to T for the
/// preferred-leader rule (bug preferred-leader-ignores-readiness breaks it). T's heartbeats that still say it hears a
/// quorum are lost, so none can arrive late and overwrite that. In half the bridges T's
/// heartbeats never reach L (L goes on hearing T's other answers): L then still thinks T ready, hands over to it for the
/// rule, and only T's own refusal stands between the cluster and an election gap; the second check is off then.
/// </summary>
internal sealed class BridgeFault : ITargetedFault
{
    private readonly Simulator _sim;
    private readonly SimReplicaHost _leader;
    private readonly SimReplicaHost _target;
    private readonly long _cutAtMs;
    private readonly HashSet<Message> _sentDuringCut = new(ReferenceEqualityComparer.Instance);
    private bool _over;

    /// <summary>T's tick at the cut: once its own clock has run an election timeout and a tick past it, T hears no quorum.</summary>
    private readonly long _cutAtTargetTick;

    /// <summary>When a heartbeat of T's saying it hears no quorum first reached L (0: none yet).</summary>
    private long _noQuorumHeardByLeaderAtMs;

    private bool TargetMustKnow => _target.Core.CurrentTick - _cutAtTargetTick > _target.Core.Options.ElectionTimeoutTicks;

    /// <summary>When the fault asks L to hand over to T: by then T has long known it hears no quorum (ten heartbeat intervals past an election timeout, at TickMs).</summary>
    private long AskAfterMs => (_target.Core.Options.ElectionTimeoutTicks + (10L * _target.Core.Options.HeartbeatIntervalTicks)) * _sim.Options.TickMs;

    /// <summary>T's heartbeats never reach L while the bridge stands.</summary>
    private readonly bool _silent;

    private BridgeFault(Simulator sim, SimReplicaHost leader, SimReplicaHost target, bool silent)
    {
        _sim = sim;
        _leader = leader;
        _target = target;
        _cutAtMs = sim.NowMs;
        _cutAtTargetTick = target.Core.CurrentTick;
        _silent = silent;
    }

    /// <summary>When the cluster is quiet, has at least four voters (so that two are no quorum), runs the rule, no clock runs slow or fast, and a voter larger than the leader exists.</summary>
    public static BridgeFault? TryStart(Simulator sim)
    {
        var leader = sim.SittingLeader;
        if (sim.Hosts.Count < 3 || !sim.Quiet || leader is null || sim.Options.PreferredLeader != ReplicaOptions.PreferLargestId ||
            sim.Hosts.Any(h => !sim.ClockIsNormal(h)))
        {
            return null;
        }

        var current = leader.Core.CurrentConfiguration;
        var latest = leader.Core.LatestConfiguration;
        var largest = sim.Hosts.Where(h => current.IsVoter(h.Id) && latest.IsVoter(h.Id)).MaxBy(h => h.Id);
        // With three voters the largest and the leader are a quorum: it may stand, and wins.
        if (largest is null || largest == leader || current.Voters.Count < 4 || latest.Voters.Count < 4)
        {
            return null;
        }

        var fault = new BridgeFault(sim, leader, largest, silent: sim.Random.Chance(0.5));
        // Every link works as far as the partition goes (none may start meanwhile); Route and Admits cut the fault's.
        sim.CutLinks((_, _) => false);
        sim.Faults.Bridges++;
        var options = leader.Core.Options;
        var lastsMs = ((3L * options.PreferredLeaderStableTicks) + (2L * options.ElectionTimeoutTicks)) * sim.Options.TickMs;
        sim.Schedule(sim.NowMs + lastsMs, sim.Tracing ? $"bridge around r{largest.Id} (only r{leader.Id} reaches it) heals" : null, fault.End);
        sim.Schedule(sim.NowMs + fault.AskAfterMs, sim.Tracing ? $"bridge: r{leader.Id} is asked to hand over to r{largest.Id}" : null, fault.AskHandover);
        return fault;
    }

    public MessageRoute Route(Message message)
    {
        if (_over)
        {
            return MessageRoute.Default;
        }

        if (Cut(message))
        {
            return MessageRoute.Drop;
        }

        if (message.From == _target.Id && message is Heartbeat heartbeat && (_silent || heartbeat.Readiness != LeadReadiness.HearsNoQuorum))
        {
            // One that still says T hears a quorum (sent before T noticed) would, arriving late, overwrite what L heard
            // since; in a silent bridge none arrives.
            return MessageRoute.Drop;
        }

        if (message.From == _target.Id)
        {
            _sentDuringCut.Add(message);
        }

        return MessageRoute.Default;
    }

    public bool Admits(Message message)
    {
        if (_over)
        {
            return true;
        }

        var admitted = !Cut(message) && (message.From != _target.Id || message.To != _leader.Id || _sentDuringCut.Contains(message));
        if (admitted && message is Heartbeat { Readiness: LeadReadiness.HearsNoQuorum } && message.From == _target.Id && _noQuorumHeardByLeaderAtMs == 0)
        {
            _noQuorumHeardByLeaderAtMs = _sim.NowMs;
        }

        return admitted;
    }

    /// <summary>The target left the follower role on a TimeoutNow: a violation once it has heard no quorum for long enough.</summary>
    public string? OnStoodOnHandover(SimReplicaHost host)
    {
        if (_over || host != _target || !TargetMustKnow)
        {
            return null;
        }

        return $"at {_sim.NowMs} ms: replica {_target.Id} stood on a handover (TimeoutNow) from replica {_leader.Id} although for " +
            $"{_sim.NowMs - _cutAtMs} ms it had reached only that replica (a partial partition): it cannot win, the leader has stepped " +
            "aside for it, and the cluster loses its leader once per stability window for as long as the partition lasts";
    }

    /// <summary>A replica started a handover for the preferred-leader rule: to T, once L must know T hears no quorum, a violation.</summary>
    public string? OnRuleHandover(SimReplicaHost leader, int target)
    {
        // Admitted means handed to L's OnMessage at once; a handover started in the same instant came before it.
        if (_over || _silent || target != _target.Id || leader != _leader || _noQuorumHeardByLeaderAtMs == 0 || _sim.NowMs <= _noQuorumHeardByLeaderAtMs)
        {
            return null;
        }

        return $"at {_sim.NowMs} ms: replica {_leader.Id} started a handover to replica {_target.Id} for the preferred-leader rule although for " +
            $"{_sim.NowMs - _cutAtMs} ms that replica had reached only it (a partial partition) and its heartbeats said it heard no quorum: " +
            "proposals wait for a handover that cannot end, once per stability window";
    }

    /// <summary>As an operator naming T would: L is asked once to hand its leadership to T, which must refuse.</summary>
    private void AskHandover()
    {
        if (!_over && _leader.Up && _leader.Core.Role == ReplicaRole.Leader && _leader.Core.HandoverTarget is null && _leader.HandOver(_target.Id) is null)
        {
            _sim.Faults.BridgeHandoversAsked++;
        }
    }

    private bool Cut(Message message)
    {
        var (from, to) = (message.From, message.To);
        return (from == _target.Id && to != _leader.Id) || (to == _target.Id && from != _leader.Id);
    }

    private void End()
    {
        _over = true;
        _sim.EndTargetedFault(this);
    }
}
