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
internal sealed class SnapshotOvertakenFault : ITargetedFault
{
    private readonly Simulator _sim;
    private readonly SimReplicaHost _follower;
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
    {
        _sim = sim;
        _follower = follower;
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

    public MessageRoute Route(Message message) => Cut(message) ? MessageRoute.Drop : MessageRoute.Default;

    public bool Admits(Message message) => !Cut(message);

    private bool Cut(Message message) =>
        _step is Step.CutOff or Step.OthersSnapshot or Step.OwnSnapshot && (message.From == _follower.Id || message.To == _follower.Id);

    private IEnumerable<SimReplicaHost> Others => _sim.Hosts.Where(h => h != _follower && h.Up);

    /// <summary>Each tick: moves on once the step's condition holds.</summary>
    private void Poll()
    {
        _sim.Schedule(_sim.NowMs + _sim.Options.TickMs, null, () =>
        {
            if (_step == Step.Over)
            {
                return;
            }

            if (!_follower.Up)
            {
                GiveUp();
                return;
            }

            var followerCommit = _follower.Core.CommitIndex;
            switch (_step)
            {
                case Step.CutOff when Others.Any(h => h.Core.CommitIndex > followerCommit + 1):
                    foreach (var host in Others)
                    {
                        if (host.CompactNow())
                        {
                            _sim.Faults.TargetedSnapshots++;
                        }
                    }

                    Enter(Step.OthersSnapshot);
                    break;
                case Step.OthersSnapshot when Others.Any(h => h.Core.SnapshotSlot > followerCommit):
                    _follower.SnapshotWriteDelayMs = _sim.Options.SnapshotOvertakenWriteMs;
                    if (!_follower.SnapshotInBackgroundNow())
                    {
                        GiveUp();
                        return;
                    }

                    Enter(Step.OwnSnapshot);
                    break;
                case Step.OwnSnapshot when _follower.Core.SnapshotSlot == _follower.Core.CommitIndex && _follower.SnapshotMemoryHeldBytes > 0:
                    _ownSnapshotSlot = _follower.Core.SnapshotSlot;
                    Enter(Step.Healed);
                    break;
                case Step.Healed when _follower.Core.SnapshotSlot > _ownSnapshotSlot:
                    _sim.Faults.SnapshotsOvertaken++;
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
        _sim.GiveUpIfStillThere(() => _step == step, GiveUp);
    }

    private void GiveUp() => _sim.AbandonTargetedFault(_step == Step.Over, End);

    private void End()
    {
        if (_step == Step.Over)
        {
            return;
        }

        _step = Step.Over;
        _follower.SnapshotWriteDelayMs = 0;
        _sim.EndTargetedFault(this);
    }
}
