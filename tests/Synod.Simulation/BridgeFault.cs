using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A partial partition around the preferred voter (issue 22's cold review, finding 2): the largest voter T, which does
/// not lead, can reach the leader L and no other replica, both ways, for three stability windows and two election
/// timeouts; what is in flight across the cut is lost, and so is what T sent L before it and in the first moments after
/// (heartbeats that still said T heard a quorum). Everyone but T hears a quorum, so L leads on. Two checks, each on its
/// own clock: once T's clock has run past the time it takes to notice it hears no quorum, T never stands on a
/// TimeoutNow (bug handover-ignores-quorum breaks it; the fault itself asks L, once, to hand over to T, as an operator
/// naming T would); and once T's heartbeats saying so have had ten heartbeat intervals to reach L, L starts no handover
/// to T for the preferred-leader rule (bug preferred-leader-ignores-readiness breaks it). In half the bridges T's
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

    /// <summary>How long after the cut T may still stand: until its clock has run an election timeout (it then hears no quorum), a heartbeat interval and a tick more.</summary>
    private long TargetGraceMs
    {
        get
        {
            var o = _target.Core.Options;
            return (o.ElectionTimeoutTicks + o.HeartbeatIntervalTicks + 1L) * _sim.Options.TickMs;
        }
    }

    /// <summary>How long after the cut L may still think T ready: T's grace, then ten of T's heartbeats (any one of which, saying it hears no quorum, is enough) and the network's longest ordinary delay.</summary>
    private long LeaderGraceMs => TargetGraceMs + (10L * _target.Core.Options.HeartbeatIntervalTicks * _sim.Options.TickMs) + _sim.Options.NetworkDelayMsMax;

    /// <summary>T's heartbeats never reach L while the bridge stands.</summary>
    private readonly bool _silent;

    private BridgeFault(Simulator sim, SimReplicaHost leader, SimReplicaHost target, bool silent)
    {
        _sim = sim;
        _leader = leader;
        _target = target;
        _cutAtMs = sim.NowMs;
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
        sim.Schedule(sim.NowMs + fault.LeaderGraceMs, sim.Tracing ? $"bridge: r{leader.Id} is asked to hand over to r{largest.Id}" : null, fault.AskHandover);
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

        if (message.From == _target.Id && message is Heartbeat && (_silent || _sim.NowMs - _cutAtMs < TargetGraceMs))
        {
            // It may still say it hears a quorum, and a late one would overwrite what L heard since.
            return MessageRoute.Drop;
        }

        if (message.From == _target.Id)
        {
            _sentDuringCut.Add(message);
        }

        return MessageRoute.Default;
    }

    public bool Admits(Message message) =>
        _over || (!Cut(message) && (message.From != _target.Id || message.To != _leader.Id || _sentDuringCut.Contains(message)));

    /// <summary>The target left the follower role on a TimeoutNow: a violation once it has heard no quorum for long enough.</summary>
    public string? OnStoodOnHandover(SimReplicaHost host)
    {
        if (_over || host != _target || _sim.NowMs - _cutAtMs < TargetGraceMs)
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
        if (_over || _silent || target != _target.Id || leader != _leader || _sim.NowMs - _cutAtMs < LeaderGraceMs)
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
