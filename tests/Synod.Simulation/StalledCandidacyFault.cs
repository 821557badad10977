using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A candidacy that lasts while another replica leads, chooses and snapshots (I15; issue 13, finding 1, whose golden
/// schedule is CandidateSnapshotTests). Steps, with the replicas and the timings drawn from the seed:
/// 1. A quorum S of followers is cut off from the rest, the leader among them, so that one of S stands.
/// 2. The first of S to send a Prepare is the candidate K. Its clock runs StalledClockFactor times slow, and its
///    Prepare to one other member of S, the late promiser H, is held StalledPrepareHoldMs; the others of S (E) promise
///    at once, so K is one promise short (its Prepares to the rest are lost). H hears no one; every other link works,
///    except that K does not hear replicas while they stand or lead (a Prepare or a leader above its ballot would end
///    its candidacy at once), so E and the rest, a quorum, elect a leader above K's ballot and choose new slots while K
///    waits, and K hears only followers.
/// 3. During the hold every other replica snapshots often (StalledSnapshotEveryMs), so K, still a candidate, is sent
///    a snapshot when it catches up (a real cluster snapshots every so many slots; here inside the window that matters).
/// 4. The Prepare reaches H, which has heard no leader, and H promises; only this ballot's phase 1 and phase 2 pass
///    between K and H. The links heal a little later.
/// With the fix, K stands down when it installs the snapshot; with bug candidate-installs-snapshot it leads on its old
/// phase 1 and re-proposes no-ops in slots the snapshot covered, which H, knowing nothing of them, marks chosen.
/// </summary>
internal sealed class StalledCandidacyFault : ITargetedFault
{
    private readonly Simulator _sim;
    private readonly HashSet<int> _side;
    private readonly List<int> _early = [];
    private SimReplicaHost? _candidate;
    private Ballot _ballot;
    private int _late;
    private Prepare? _held;
    private bool _released;
    private bool _over;

    private StalledCandidacyFault(Simulator sim, HashSet<int> side)
    {
        _sim = sim;
        _side = side;
    }

    /// <summary>Step 1, when the cluster is quiet and led and has at least five replicas (with fewer, E and the rest are no quorum).</summary>
    public static StalledCandidacyFault? TryStart(Simulator sim)
    {
        var leader = sim.SittingLeader;
        if (sim.Hosts.Count < 5 || !sim.Quiet || leader is null)
        {
            return null;
        }

        var side = sim.Hosts.Where(h => h != leader).OrderBy(_ => sim.Random.Next(1000)).Take(sim.QuorumSize).Select(h => h.Id).ToHashSet();
        var fault = new StalledCandidacyFault(sim, side);
        sim.CutLinks((from, to) => side.Contains(from) != side.Contains(to));
        sim.Schedule(sim.NowMs + sim.Options.TargetedStepMsMax, sim.Tracing ? "stalled candidacy: no candidate?" : null, () =>
        {
            if (fault._candidate is null)
            {
                fault.GiveUp();
            }
        });
        return fault;
    }

    public MessageRoute Route(Message message)
    {
        if (_over)
        {
            return MessageRoute.Default;
        }

        if (_candidate is null)
        {
            if (message is not Prepare first || !_side.Contains(first.From))
            {
                return MessageRoute.Default;
            }

            Stall(first);
        }

        var candidate = _candidate!.Id;
        if (message is Prepare prepare && prepare.From == candidate)
        {
            return prepare.Ballot != _ballot ? MessageRoute.Drop
                : prepare.To == _late ? HoldForLate(prepare)
                : _early.Contains(prepare.To) ? MessageRoute.Default
                : MessageRoute.Drop;
        }

        if (message.From == _late || message.To == _late)
        {
            // H hears nothing, not even the candidate's heartbeats (it would catch up from it), until the held Prepare;
            // then only this ballot's phase 1 and phase 2 pass between them.
            return IsOfThisBallot(message) && (message.From == candidate || message.To == candidate) ? MessageRoute.Default : MessageRoute.Drop;
        }

        // K does not hear replicas that stand or lead while it waits (a Prepare or a leader above its ballot would end its
        // candidacy at once); it hears the followers, and catches up from them.
        return message.To == candidate && _sim.HostById(message.From).Core.Role != ReplicaRole.Follower ? MessageRoute.Drop : MessageRoute.Default;
    }

    /// <summary>Nothing in flight is lost: the cuts above act on what is sent from the stall on.</summary>
    public bool Admits(Message message) => true;

    private bool IsOfThisBallot(Message message) => message switch
    {
        Promise promise => promise.Ballot == _ballot,
        Accept accept => accept.Ballot == _ballot,
        Accepted accepted => accepted.Ballot == _ballot,
        _ => false,
    };

    private MessageRoute HoldForLate(Prepare prepare)
    {
        _held = prepare;
        return MessageRoute.Hold;
    }

    private void Undo()
    {
        _over = true;
        if (_candidate is not null)
        {
            _sim.SetClock(_candidate, 0, _sim.Options.TickMs);
        }
    }

    /// <summary>Step 2: the sender of <paramref name="prepare"/> is the candidate.</summary>
    private void Stall(Prepare prepare)
    {
        var candidate = _sim.HostById(prepare.From);
        _candidate = candidate;
        _ballot = prepare.Ballot;
        var others = _side.Where(id => id != candidate.Id).ToList();
        _late = others[_sim.Random.Next(others.Count)];
        _early.AddRange(others.Where(id => id != _late));
        // Every link works again (no random partition may start meanwhile); Route cuts what the steps below need cut.
        _sim.CutLinks((_, _) => false);
        _sim.Faults.StalledCandidacies++;

        var options = _sim.Options;
        var holdMs = options.StalledPrepareHoldMsMin + _sim.Random.Next(options.StalledPrepareHoldMsMax - options.StalledPrepareHoldMsMin + 1);
        var healMs = holdMs + 200 + _sim.Random.Next(400);
        _sim.SetClock(candidate, _sim.NowMs + healMs, (long)options.TickMs * options.StalledClockFactor);
        ScheduleSnapshots();
        _sim.Schedule(_sim.NowMs + holdMs, _sim.Tracing ? $"stalled candidacy: Prepare reaches r{_late}" : null, Release);
        _sim.Schedule(_sim.NowMs + healMs, _sim.Tracing ? "stalled candidacy heals" : null, End);
    }

    /// <summary>
    /// While the Prepare is held, every replica but the candidate and H snapshots every StalledSnapshotEveryMs, so
    /// that whenever the candidate catches up it is sent a snapshot of the slots chosen meanwhile.
    /// </summary>
    private void ScheduleSnapshots()
    {
        _sim.Schedule(_sim.NowMs + _sim.Options.StalledSnapshotEveryMs, _sim.Tracing ? "stalled candidacy: snapshots" : null, () =>
        {
            if (_over || _released)
            {
                return;
            }

            foreach (var host in _sim.Hosts.Where(h => h != _candidate && h.Id != _late))
            {
                if (host.CompactNow())
                {
                    _sim.Faults.TargetedSnapshots++;
                }
            }

            ScheduleSnapshots();
        });
    }

    private void Release()
    {
        _released = true;
        if (!_over && _held is not null)
        {
            _sim.DeliverPeerMessage(_held, 1 + _sim.Random.Next(_sim.Options.NetworkDelayMsMax));
        }
    }

    private void GiveUp() => _sim.AbandonTargetedFault(_over, End);

    private void End()
    {
        if (_over)
        {
            return;
        }

        Undo();
        _sim.EndTargetedFault(this);
    }
}
