using Synod.Core;

namespace Synod.Simulation;

/// <summary>
/// The simulator's side of the targeted faults (<see cref="ITargetedFault"/>): at most one runs at a time; what it may
/// do to the cluster is listed here, so that it acts only through faults a real cluster can suffer.
/// </summary>
public sealed partial class Simulator
{
    private ITargetedFault? _targeted;

    internal IReadOnlyList<SimReplicaHost> Hosts => _hosts;

    /// <summary>Snapshots (source, slot) whose source's mapped copy a <see cref="DamagedSourceFault"/> damaged: a learner may refuse these.</summary>
    internal HashSet<(int Source, long Slot)> DamagedSnapshots { get; } = [];

    /// <summary>A targeted fault found the cluster stuck where it must make progress: a violation, and the run ends.</summary>
    internal void ReportLivenessViolation(string violation)
    {
        _violations.Add(violation);
        _finished = true;
    }

    internal int QuorumSize => (_hosts.Length / 2) + 1;

    /// <summary>No partition, nothing down, no targeted fault running: a targeted fault may start from here.</summary>
    internal bool Quiet => !_partitioned && _targeted is null && _hosts.All(h => h.Up) && !Reconfiguring;

    internal SimReplicaHost? SittingLeader => _hosts.FirstOrDefault(h => h.Up && h.Core.Role == ReplicaRole.Leader);

    internal SimReplicaHost HostById(int id) => Host(id);

    /// <summary>Puts the links <paramref name="blocked"/> names out of order (from, to), and only those, until the fault ends.</summary>
    internal void CutLinks(Func<int, int, bool> blocked)
    {
        _partitioned = true;
        _partitionEpoch++;
        for (var from = 1; from <= _hosts.Length; from++)
        {
            for (var to = 1; to <= _hosts.Length; to++)
            {
                _blocked[from, to] = from != to && blocked(from, to);
            }
        }
    }

    /// <summary>
    /// The replica's timer ticks every <paramref name="tickMs"/> (a slow clock above TickMs, a fast one below) until
    /// <paramref name="untilMs"/>, while it still handles every message at once; 0 ends it now.
    /// </summary>
    internal void SetClock(SimReplicaHost host, long untilMs, long tickMs)
    {
        _clockUntilMs[host.Id] = untilMs;
        _clockTickMs[host.Id] = Math.Max(1, tickMs);
        _fastClockSeen |= _clockTickMs[host.Id] < Options.TickMs;
    }

    /// <summary>The replica crashes, loses its disk and restarts at once, rebuilding (I14). False if no more disks may go.</summary>
    internal bool LoseDiskNow(SimReplicaHost host)
    {
        if (!host.Up || !CanLoseAnotherDisk())
        {
            return false;
        }

        host.Crash();
        Faults.Crashes++;
        host.LoseDisk();
        Faults.DiskWipes++;
        Restart(host);
        return true;
    }

    /// <summary>No slow clock and no clock set by a targeted fault runs for <paramref name="host"/> now.</summary>
    internal bool ClockIsNormal(SimReplicaHost host) => host.SlowClockUntilMs <= NowMs && _clockUntilMs[host.Id] <= NowMs;

    /// <summary><paramref name="host"/> left the follower role on a TimeoutNow.</summary>
    internal void OnStoodOnHandover(SimReplicaHost host)
    {
        if (_targeted is BridgeFault bridge && bridge.OnStoodOnHandover(host) is { } violation)
        {
            _violations.Add(violation);
            _finished = true;
        }
    }

    /// <summary>
    /// A targeted fault's rule for a step that never ends: if <paramref name="stillThere"/> holds TargetedStepMsMax from
    /// now, <paramref name="giveUp"/>.
    /// </summary>
    internal void GiveUpIfStillThere(Func<bool> stillThere, Action giveUp) =>
        Schedule(NowMs + Options.TargetedStepMsMax, null, () =>
        {
            if (stillThere())
            {
                giveUp();
            }
        });

    /// <summary>Counts a targeted fault abandoned and ends it (<paramref name="end"/>), unless it is <paramref name="over"/> already.</summary>
    internal void AbandonTargetedFault(bool over, Action end)
    {
        if (!over)
        {
            Faults.TargetedFaultsAbandoned++;
            end();
        }
    }

    internal void EndTargetedFault(ITargetedFault fault)
    {
        if (_targeted != fault)
        {
            return;
        }

        _targeted = null;
        ClearPartition();
        if (_healWhenTargetedEnds)
        {
            HealEverything();
        }
    }

    /// <summary>Starts one of the targeted faults, each with its own probability; false if none started.</summary>
    private bool MaybeStartTargetedFault()
    {
        if (Random.Chance(Options.StalledCandidacyProbability))
        {
            _targeted = StalledCandidacyFault.TryStart(this);
        }
        else if (Random.Chance(Options.ForgottenLifeProbability))
        {
            _targeted = ForgottenLifeFault.TryStart(this);
        }
        else if (Random.Chance(Options.EarlyVoteProbability))
        {
            _targeted = EarlyVoteFault.TryStart(this);
        }
        else if (Random.Chance(Options.BridgeProbability))
        {
            _targeted = BridgeFault.TryStart(this);
        }
        else if (Random.Chance(Options.SnapshotOvertakenProbability))
        {
            _targeted = SnapshotOvertakenFault.TryStart(this);
        }
        else if (Random.Chance(Options.DamagedSourceProbability))
        {
            _targeted = DamagedSourceFault.TryStart(this);
        }

        return _targeted is not null;
    }
}
