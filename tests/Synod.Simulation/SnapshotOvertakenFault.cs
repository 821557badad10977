using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A replica's own snapshot still being written when a newer one from a peer is installed over it: the memory the
/// driver lent the core for its own snapshot must then be kept until the write is done (the driver asks the log as well
/// as the core; bug switch --snapshot-memory-freed-early asks only the core). Natural schedules reached this in about 1
/// seed of 200, and none once learners asked the peer with the newest snapshot. Steps, the replica and the timings drawn
/// from the seed:
/// 1. A follower F is cut off from everyone, what is in flight too, while the others go on choosing.
/// 2. Once the others' commit index is past F's, every other replica takes a snapshot at once, so that any of them
///    F asks will send it one.
/// 3. Once they hold their snapshots, F's disk turns slow for snapshot files (each write takes SnapshotOvertakenWriteMs
///    more) and F starts a snapshot of its own, serialised in the background into memory outside the collected heap
///    as a trigger's is; once its core holds it (the memory lent), F's links heal: it hears a peer ahead of it and
///    installs that peer's snapshot while its own is still being written.
/// The fault ends once F has installed a peer's snapshot (counted), or gives up after TargetedStepMsMax in a step.
/// </summary>
internal sealed class SnapshotOvertakenFault : FollowerCutOffFault
{
    private Step _step;
    private long _ownSnapshotSlot;

    private enum Step
    {
        CutOff,
        OthersSnapshot,
        OwnSnapshot,
        Healed,
        Over,
    }

    private SnapshotOvertakenFault(Simulator sim, SimReplicaHost follower)
        : base(sim, follower)
    {
    }

    /// <summary>Step 1, when the cluster is quiet and led and has at least three replicas.</summary>
    public static SnapshotOvertakenFault? TryStart(Simulator sim)
    {
        var leader = sim.SittingLeader;
        // Before an upgrade the build writes old-format snapshots into ordinary arrays: nothing is lent to overtake.
        if (sim.Hosts.Count < 3 || !sim.Quiet || leader is null || sim.BeforeUpgrade)
        {
            return null;
        }

        var followers = sim.Hosts.Where(h => h != leader).ToList();
        var fault = new SnapshotOvertakenFault(sim, followers[sim.Random.Next(followers.Count)]);
        sim.CutLinks((_, _) => false);
        fault.Enter(Step.CutOff);
        fault.Poll();
        return fault;
    }

    protected override bool CutOff => _step is Step.CutOff or Step.OthersSnapshot or Step.OwnSnapshot;

    /// <summary>Each tick: moves on once the step's condition holds.</summary>
    private void Poll()
    {
        Sim.Schedule(Sim.NowMs + Sim.Options.TickMs, null, () =>
        {
            if (_step == Step.Over)
            {
                return;
            }

            if (!Follower.Up)
            {
                GiveUp();
                return;
            }

            var followerCommit = Follower.Core.CommitIndex;
            switch (_step)
            {
                case Step.CutOff when Others.Any(h => h.Core.CommitIndex > followerCommit + 1):
                    SnapshotOthers();
                    Enter(Step.OthersSnapshot);
                    break;
                case Step.OthersSnapshot when Others.Any(h => h.Core.SnapshotSlot > followerCommit):
                    Follower.SnapshotWriteDelayMs = Sim.Options.SnapshotOvertakenWriteMs;
                    if (!Follower.SnapshotInBackgroundNow())
                    {
                        GiveUp();
                        return;
                    }

                    Enter(Step.OwnSnapshot);
                    break;
                case Step.OwnSnapshot when Follower.Core.SnapshotSlot == Follower.Core.CommitIndex && Follower.SnapshotMemoryHeldBytes > 0:
                    _ownSnapshotSlot = Follower.Core.SnapshotSlot;
                    Enter(Step.Healed);
                    break;
                case Step.Healed when Follower.Core.SnapshotSlot > _ownSnapshotSlot:
                    Sim.Faults.SnapshotsOvertaken++;
                    End();
                    return;
            }

            Poll();
        });
    }

    /// <summary>Moves to <paramref name="step"/>, and gives up if the fault is still there TargetedStepMsMax later.</summary>
    private void Enter(Step step)
    {
        _step = step;
        Sim.GiveUpIfStillThere(() => _step == step, GiveUp);
    }

    private void GiveUp() => Sim.AbandonTargetedFault(_step == Step.Over, End);

    private void End()
    {
        if (_step == Step.Over)
        {
            return;
        }

        _step = Step.Over;
        Follower.SnapshotWriteDelayMs = 0;
        Sim.EndTargetedFault(this);
    }
}
