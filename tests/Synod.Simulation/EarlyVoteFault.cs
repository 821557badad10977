using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A rebuilt replica that votes before it knows the slots it helped choose (I14, step 3: catch up to the phase-1 slot
/// of the leader it waited for). Steps, with the replicas and the timings drawn from the seed (no replica snapshots
/// meanwhile, so the rebuilt replica learns those slots only through catch-up):
/// 1. A follower R and q−1 other followers O are picked; the leader L and the rest I (q−1 replicas with L) are cut off
///    from O, what is in flight too, while R hears everyone. I and R, a quorum, go on choosing: every slot L proposes
///    from now on is chosen, if at all, with R's acceptance, and O never sees it.
/// 2. Once L has chosen a slot that O never saw, R loses its disk and rebuilds. Between I and O only phase 1 passes
///    (Prepare one way, Promise and Reject the other), so that L, asked by R to run phase 1 again above R's floor,
///    is established with O's promises. Nothing from I reaches R that would teach it chosen slots (catch-up, snapshot,
///    Commit, Accept) until L's heartbeat as a leader established above the ballot it held at step 1 has reached R;
///    from then on phase 2 passes between I and O too, so that L can choose what it proposed meanwhile and R, with
///    the rule, can catch up to L's phase-1 slot.
/// 3. As soon as R votes, I is cut off from R and O, what is in flight too. R and O, a quorum, elect a leader; the
///    links heal a few election timeouts later.
/// With the rule, R votes only once it knows every slot L's phase 1 covered, and its promise reports them to the new
/// leader; with bug vote-before-catch-up it votes on L's first heartbeat, knowing none of them, and R and O choose a
/// different value in a slot that L chose with R's lost acceptance.
/// </summary>
internal sealed class EarlyVoteFault : ITargetedFault
{
    private readonly Simulator _sim;
    private readonly SimReplicaHost _leader;
    private readonly SimReplicaHost _rebuilt;
    private readonly HashSet<int> _others;
    private readonly Ballot _ballotAtCut;
    private readonly long _firstUnseenSlot;
    private Step _step;

    private enum Step
    {
        Dividing,
        Rebuilding,
        CatchingUp,
        Split,
        Over,
    }

    private EarlyVoteFault(Simulator sim, SimReplicaHost leader, SimReplicaHost rebuilt, HashSet<int> others)
    {
        _sim = sim;
        _leader = leader;
        _rebuilt = rebuilt;
        _others = others;
        _ballotAtCut = leader.Core.Ballot;
        _firstUnseenSlot = leader.Core.NextSlot;
    }

    private long ElectionTimeoutMs => (long)_sim.HostById(1).Core.Options.ElectionTimeoutTicks * _sim.Options.TickMs;

    /// <summary>Step 1, when the cluster is quiet and led, has at least three replicas, and may lose a disk.</summary>
    public static EarlyVoteFault? TryStart(Simulator sim)
    {
        var leader = sim.SittingLeader;
        if (sim.Hosts.Count < 3 || !sim.Quiet || leader is null || !sim.CanLoseAnotherDisk() || sim.Hosts.Any(h => h.DurablyRebuilding))
        {
            return null;
        }

        var followers = sim.Hosts.Where(h => h != leader).OrderBy(_ => sim.Random.Next(1000)).ToList();
        var others = followers.Skip(1).Take(sim.QuorumSize - 1).Select(h => h.Id).ToHashSet();
        var fault = new EarlyVoteFault(sim, leader, followers[0], others);
        // Every link works as far as the partition goes (none may start meanwhile); Route and Admits cut the fault's.
        sim.CutLinks((_, _) => false);
        fault.PauseSnapshots(true);
        fault.Enter(Step.Dividing);
        fault.Poll();
        return fault;
    }

    public MessageRoute Route(Message message)
    {
        if (_step == Step.Over)
        {
            return MessageRoute.Default;
        }

        NoteVote();
        return Blocked(message) ? MessageRoute.Drop : MessageRoute.Default;
    }

    public bool Admits(Message message)
    {
        if (_step == Step.Over)
        {
            return true;
        }

        NoteVote();
        var blocked = Blocked(message);
        if (!blocked && _step == Step.Rebuilding && message.To == _rebuilt.Id && message is Heartbeat { IsLeader: true } heartbeat &&
            heartbeat.Ballot > _ballotAtCut && heartbeat.Phase1Slot >= _firstUnseenSlot)
        {
            // A leader established above the old ballot, after its phase 1 over the unseen slots: from here R may learn.
            Enter(Step.CatchingUp);
        }

        return !blocked;
    }

    private bool InI(int id) => id != _rebuilt.Id && !_others.Contains(id);

    private bool Blocked(Message message)
    {
        var (from, to) = (message.From, message.To);
        var acrossIAndO = (InI(from) && _others.Contains(to)) || (_others.Contains(from) && InI(to));
        switch (_step)
        {
            case Step.Dividing:
                return acrossIAndO;
            case Step.Rebuilding or Step.CatchingUp:
                if (acrossIAndO)
                {
                    // Phase 1 passes; phase 2 too once R may learn, so that L can choose what it proposed while O was cut off.
                    var phase2 = _step == Step.CatchingUp && (InI(from) ? message is Accept : message is Accepted);
                    return !(phase2 || (InI(from) ? message is Prepare : message is Promise or Reject));
                }

                return _step == Step.Rebuilding && InI(from) && to == _rebuilt.Id && message is CatchUpReply or InstallSnapshot or Commit or Accept;
            case Step.Split:
                return InI(from) != InI(to);
            default:
                return false;
        }
    }

    /// <summary>Step 3 starts the moment R votes, before it hears anything more from I.</summary>
    private void NoteVote()
    {
        if (_step is Step.Rebuilding or Step.CatchingUp && _rebuilt.Up && !_rebuilt.Core.Rebuilding && !_rebuilt.DurablyRebuilding)
        {
            _sim.Faults.EarlyVoteSplits++;
            Enter(Step.Split);
            var splitMs = (3 * ElectionTimeoutMs) + _sim.Random.Next(500);
            _sim.Schedule(_sim.NowMs + splitMs, _sim.Tracing ? "early vote heals" : null, End);
        }
    }

    /// <summary>Step 2 once L has chosen a slot O never saw (checked each tick).</summary>
    private void Poll()
    {
        _sim.Schedule(_sim.NowMs + _sim.Options.TickMs, null, () =>
        {
            if (_step != Step.Dividing)
            {
                return;
            }

            if (_leader.Up && _leader.Core.CommitIndex >= _firstUnseenSlot)
            {
                LoseDisk();
                return;
            }

            Poll();
        });
    }

    private void LoseDisk()
    {
        if (!_sim.LoseDiskNow(_rebuilt))
        {
            GiveUp();
            return;
        }

        _sim.Faults.EarlyVoteDiskLosses++;
        Enter(Step.Rebuilding);
    }

    /// <summary>
    /// No replica snapshots while the fault runs (a snapshot thread that falls behind): R would learn the slots it helped
    /// choose from a snapshot as readily as from catch-up, and a leader would tell O of them in one.
    /// </summary>
    private void PauseSnapshots(bool paused)
    {
        foreach (var host in _sim.Hosts)
        {
            host.SnapshotsPaused = paused;
        }
    }

    /// <summary>Moves to <paramref name="step"/>, and gives up if the fault is still there TargetedStepMsMax later.</summary>
    private void Enter(Step step)
    {
        _step = step;
        _sim.GiveUpIfStillThere(() => _step == step && step != Step.Split, GiveUp);
    }

    private void GiveUp() => _sim.AbandonTargetedFault(_step == Step.Over, End);

    private void End()
    {
        if (_step == Step.Over)
        {
            return;
        }

        _step = Step.Over;
        PauseSnapshots(false);
        _sim.EndTargetedFault(this);
    }
}
