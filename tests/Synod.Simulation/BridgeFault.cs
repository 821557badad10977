using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A partial partition around the preferred voter (issue 22's cold review, finding 2): the largest voter T, which does
/// not lead, can reach the leader L and no other replica, both ways, for three stability windows and two election
/// timeouts; what is in flight across the cut is lost, and so is what T sent L before it (a heartbeat of T's that still
/// said it heard a quorum). Everyone but T hears a quorum, so L leads on. Under the preferred-leader rule L may well
/// think T ready (heard without a gap, up, caught up); T, hearing no quorum, must not stand on L's TimeoutNow: were it
/// to, L would promise it and step aside, T could not win, and the cluster would have an election gap once per window
/// for as long as the partition lasts. The check: once T's own clock has run half an election timeout past the cut
/// (plus a heartbeat interval), T does not stand on a handover while the cut lasts; bug preferred-leader-ignores-readiness
/// breaks it.
/// </summary>
internal sealed class BridgeFault : ITargetedFault
{
    private readonly Simulator _sim;
    private readonly SimReplicaHost _leader;
    private readonly SimReplicaHost _target;
    private readonly long _cutAtMs;
    private readonly HashSet<Message> _sentDuringCut = new(ReferenceEqualityComparer.Instance);
    private bool _over;

    private BridgeFault(Simulator sim, SimReplicaHost leader, SimReplicaHost target)
    {
        _sim = sim;
        _leader = leader;
        _target = target;
        _cutAtMs = sim.NowMs;
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

        var fault = new BridgeFault(sim, leader, largest);
        // Every link works as far as the partition goes (none may start meanwhile); Route and Admits cut the fault's.
        sim.CutLinks((_, _) => false);
        sim.Faults.Bridges++;
        var options = leader.Core.Options;
        var lastsMs = ((3L * options.PreferredLeaderStableTicks) + (2L * options.ElectionTimeoutTicks)) * sim.Options.TickMs;
        sim.Schedule(sim.NowMs + lastsMs, sim.Tracing ? $"bridge around r{largest.Id} (only r{leader.Id} reaches it) heals" : null, fault.End);
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
        var options = _target.Core.Options;
        var graceMs = ((options.ElectionTimeoutTicks / 2) + options.HeartbeatIntervalTicks + 1L) * _sim.Options.TickMs;
        if (_over || host != _target || _sim.NowMs - _cutAtMs < graceMs)
        {
            return null;
        }

        _sim.Faults.BridgeStands++;
        return $"at {_sim.NowMs} ms: replica {_target.Id} stood on a handover (TimeoutNow) from replica {_leader.Id} although for " +
            $"{_sim.NowMs - _cutAtMs} ms it had reached only that replica (a partial partition): it cannot win, the leader has stepped " +
            "aside for it, and the cluster loses its leader once per stability window for as long as the partition lasts";
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
