using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A Prepare held across two rebuilds, the second of a replica that answered the first one's floor question (I16;
/// issue 13, finding 2, whose golden schedule is RebuiltFloorMemberTests). Steps, with the replicas and the timings
/// drawn from the seed (no replica snapshots meanwhile: a snapshot thread that falls behind):
/// 1. A quorum of followers is cut off from the leader until one of them stands: the candidate K.
/// 2. K's links go down (what is in flight to it is lost too). Its clock runs fast (ForgottenLifeClimbingTickMs), so
///    its candidacies fail quickly and it stands again at once, a round higher each time, until its ballot c leads
///    every round the others may know of by ForgottenLifeRoundsAhead (the rebuilds below raise theirs). From then on
///    its clock runs slow (ForgottenLifeClockFactor), so this candidacy outlasts what follows.
/// 3. Its Prepare(c) reaches a follower A once A has heard no one for a while; A promises and at once crashes, loses
///    its disk and restarts rebuilding. Its Prepare(c) to every other replica is held.
/// 4. A rebuilds (a new life, a floor from a quorum of voters, a leader above it) without K. Once A votes again, a
///    replica B that answered A's floor question crashes, loses its disk and rebuilds in turn.
/// 5. Once B votes again it hears no one, while the others choose new slots, until the held Prepare(c) reaches it;
///    only c's phase 1 and phase 2 between K and A or B pass K's links.
/// With the fix, B learned A's new life from its floor quorum and its promise exposes A's promise as one of a lost
/// life; with bug rebuild-forgets-lives K counts K, A's old promise and B, leads at c, and chooses in slots the others
/// chose meanwhile.
/// </summary>
internal sealed class ForgottenLifeFault : ITargetedFault
{
    private readonly Simulator _sim;
    private readonly HashSet<int> _side;
    private readonly Dictionary<int, Prepare> _held = [];
    private readonly HashSet<int> _floorAnswerers = [];
    private readonly HashSet<int> _isolated = [];
    private readonly HashSet<Message> _passed = new(ReferenceEqualityComparer.Instance);
    private ForgottenLifeStep _step;
    private SimReplicaHost? _candidate;
    private SimReplicaHost? _first;
    private SimReplicaHost? _second;
    private Ballot _ballot;

    /// <summary>The highest round the others may know of: every round sent before K was isolated, and every one since but K's.</summary>
    private long _othersRound;

    private ForgottenLifeFault(Simulator sim, HashSet<int> side)
    {
        _sim = sim;
        _side = side;
    }

    private long ElectionTimeoutMs => (long)_sim.HostById(1).Core.Options.ElectionTimeoutTicks * _sim.Options.TickMs;

    /// <summary>Step 1, when the cluster is quiet and led, has at least five replicas, and may lose two disks in turn.</summary>
    public static ForgottenLifeFault? TryStart(Simulator sim)
    {
        var leader = sim.SittingLeader;
        if (sim.Hosts.Count < 5 || !sim.Quiet || leader is null || !sim.CanLoseAnotherDisk() || sim.Hosts.Any(h => h.DurablyRebuilding))
        {
            return null;
        }

        var side = sim.Hosts.Where(h => h != leader).OrderBy(_ => sim.Random.Next(1000)).Take(sim.QuorumSize).Select(h => h.Id).ToHashSet();
        var fault = new ForgottenLifeFault(sim, side);
        sim.CutLinks((from, to) => side.Contains(from) != side.Contains(to));
        fault.PauseSnapshots(true);
        fault.Watch(ForgottenLifeStep.AwaitingCandidate);
        return fault;
    }

    public MessageRoute Route(Message message)
    {
        if (_step == ForgottenLifeStep.Over)
        {
            return MessageRoute.Default;
        }

        if (_step == ForgottenLifeStep.AwaitingCandidate)
        {
            if (message is not Prepare first || !_side.Contains(first.From))
            {
                return MessageRoute.Default;
            }

            Isolate(first.From);
        }

        if (message.From != _candidate!.Id)
        {
            _othersRound = Math.Max(_othersRound, MessageRounds.Highest(message));
        }

        if (message.From == _candidate.Id || message.To == _candidate.Id)
        {
            return RouteCandidateTraffic(message);
        }

        if (_isolated.Contains(message.From) || _isolated.Contains(message.To))
        {
            return MessageRoute.Drop;
        }

        if (_step == ForgottenLifeStep.FirstRebuild && message is VoterQueryReply { Incarnation: > 0 } answer && answer.To == _first!.Id)
        {
            _floorAnswerers.Add(answer.From);
        }

        return MessageRoute.Default;
    }

    /// <summary>K's links, and those of A or B while they hear no one, are down: what was in flight is lost too, but what this fault passes.</summary>
    public bool Admits(Message message) =>
        _step is ForgottenLifeStep.AwaitingCandidate or ForgottenLifeStep.Over || _passed.Contains(message) ||
        (message.To != _candidate!.Id && !_isolated.Contains(message.To));

    private void Undo()
    {
        _step = ForgottenLifeStep.Over;
        PauseSnapshots(false);
        if (_candidate is not null)
        {
            _sim.SetClock(_candidate, 0, _sim.Options.TickMs);
        }
    }

    /// <summary>
    /// No replica snapshots while the fault runs (a snapshot thread that falls behind): a rebuilt replica would install a
    /// snapshot past K's first phase-1 slot, and K, rightly, stands down on a promise that cannot list those slots.
    /// </summary>
    private void PauseSnapshots(bool paused)
    {
        foreach (var host in _sim.Hosts)
        {
            host.SnapshotsPaused = paused;
        }
    }

    /// <summary>Step 2: the candidate's links go down (RouteCandidateTraffic, Admits) and its clock runs fast; every other link works.</summary>
    private void Isolate(int candidate)
    {
        _candidate = _sim.HostById(candidate);
        _othersRound = _sim.HighestRoundSent;
        // Every link works again (no random partition may start meanwhile); Route and Admits cut the candidate's.
        _sim.CutLinks((_, _) => false);
        _sim.SetClock(_candidate, _sim.NowMs + _sim.Options.TargetedStepMsMax, _sim.Options.ForgottenLifeClimbingTickMs);
        Enter(ForgottenLifeStep.Climbing);
    }

    /// <summary>
    /// K hears no one and no one hears it (no one learns its rounds), except that from its Prepare(c) on c's phase 1 and
    /// phase 2 with A and B pass.
    /// </summary>
    private MessageRoute RouteCandidateTraffic(Message message)
    {
        var candidate = _candidate!.Id;
        if (message is Prepare prepare && prepare.From == candidate)
        {
            if (_step == ForgottenLifeStep.Climbing && prepare.Ballot.Round >= _othersRound + _sim.Options.ForgottenLifeRoundsAhead)
            {
                StartPromising(prepare.Ballot);
            }

            if (_step >= ForgottenLifeStep.Promising && prepare.Ballot == _ballot)
            {
                _held[prepare.To] = prepare;
                return MessageRoute.Hold;
            }

            return MessageRoute.Drop;
        }

        switch (message)
        {
            case Promise promise when promise.Ballot == _ballot && promise.From == _first?.Id && _step == ForgottenLifeStep.Promising:
                _sim.Schedule(_sim.NowMs, _sim.Tracing ? $"forgotten life: r{_first.Id} promised {_ballot} and loses its disk" : null, LoseFirstDisk);
                return Pass(message);
            case Promise promise when promise.Ballot == _ballot && promise.From == _second?.Id && _step == ForgottenLifeStep.Released:
                return Pass(message);
            case Accept accept when accept.Ballot == _ballot && _step == ForgottenLifeStep.Released && IsFirstOrSecond(accept.To):
                return Pass(message);
            case Accepted accepted when accepted.Ballot == _ballot && _step == ForgottenLifeStep.Released && IsFirstOrSecond(accepted.From):
                return Pass(message);
            default:
                return MessageRoute.Drop;
        }
    }

    private MessageRoute Pass(Message message)
    {
        _passed.Add(message);
        return MessageRoute.Deliver;
    }

    private void Deliver(Prepare held)
    {
        _passed.Add(held);
        _sim.DeliverPeerMessage(held, 1 + _sim.Random.Next(_sim.Options.NetworkDelayMsMax));
    }

    private bool IsFirstOrSecond(int id) => id == _first?.Id || id == _second?.Id;

    /// <summary>Step 3: the candidate's ballot is far enough ahead; a follower A stops hearing anyone, then gets its Prepare.</summary>
    private void StartPromising(Ballot ballot)
    {
        var leader = _sim.SittingLeader;
        var choices = _sim.Hosts.Where(h => h != _candidate && h != leader && h.Up && !h.Core.Rebuilding).ToList();
        if (choices.Count == 0)
        {
            return;
        }

        _ballot = ballot;
        _first = choices[_sim.Random.Next(choices.Count)];
        _isolated.Add(_first.Id);
        var options = _sim.Options;
        _sim.SetClock(_candidate!, _sim.NowMs + (5L * options.TargetedStepMsMax), (long)options.TickMs * options.ForgottenLifeClockFactor);
        Enter(ForgottenLifeStep.Promising);
        var first = _first.Id;
        _sim.Schedule(_sim.NowMs + QuietMs(), _sim.Tracing ? $"forgotten life: Prepare {ballot} reaches r{first}" : null, () =>
        {
            if (_step == ForgottenLifeStep.Promising && _held.Remove(first, out var prepare))
            {
                Deliver(prepare);
            }
        });
    }

    /// <summary>Longer than an election timeout (so the replica stops deferring to a leader), at most ForgottenLifeQuietMsMax.</summary>
    private long QuietMs()
    {
        var least = ElectionTimeoutMs + (3L * _sim.Options.TickMs);
        return least + _sim.Random.Next((int)Math.Max(1, _sim.Options.ForgottenLifeQuietMsMax - least));
    }

    /// <summary>Step 4, first half: A promised; it loses its disk at once and rebuilds with everyone but the candidate.</summary>
    private void LoseFirstDisk()
    {
        if (_step != ForgottenLifeStep.Promising)
        {
            return;
        }

        _isolated.Remove(_first!.Id);
        if (!_sim.LoseDiskNow(_first))
        {
            GiveUp();
            return;
        }

        _sim.Faults.PromiserDiskLosses++;
        Enter(ForgottenLifeStep.FirstRebuild);
        Poll();
    }

    /// <summary>Checks each tick whether the replica rebuilding in this step votes again.</summary>
    private void Poll()
    {
        _sim.Schedule(_sim.NowMs + _sim.Options.TickMs, null, () =>
        {
            if (_step == ForgottenLifeStep.FirstRebuild && Votes(_first!))
            {
                LoseSecondDisk();
            }
            else if (_step == ForgottenLifeStep.SecondRebuild && Votes(_second!))
            {
                Quieten();
            }

            if (_step is ForgottenLifeStep.FirstRebuild or ForgottenLifeStep.SecondRebuild)
            {
                Poll();
            }
        });
    }

    private static bool Votes(SimReplicaHost host) => host.Up && !host.Core.Rebuilding && !host.DurablyRebuilding;

    /// <summary>Step 4, second half: a replica that answered A's floor question (and got a held Prepare) loses its disk.</summary>
    private void LoseSecondDisk()
    {
        var leader = _sim.SittingLeader;
        var choices = _floorAnswerers.Select(_sim.HostById)
            .Where(h => h != leader && h != _first && h != _candidate && Votes(h) && _held.ContainsKey(h.Id)).ToList();
        if (choices.Count == 0)
        {
            GiveUp();
            return;
        }

        _second = choices[_sim.Random.Next(choices.Count)];
        if (!_sim.LoseDiskNow(_second))
        {
            GiveUp();
            return;
        }

        _sim.Faults.FloorMemberDiskLosses++;
        Enter(ForgottenLifeStep.SecondRebuild);
    }

    /// <summary>Step 5: B votes again; it hears no one while the others choose, then the held Prepare reaches it.</summary>
    private void Quieten()
    {
        var second = _second!.Id;
        _isolated.Add(second);
        Enter(ForgottenLifeStep.Quiet);
        _sim.Schedule(_sim.NowMs + QuietMs(), _sim.Tracing ? $"forgotten life: held Prepare {_ballot} reaches r{second}" : null, () =>
        {
            if (_step != ForgottenLifeStep.Quiet || !_held.Remove(second, out var prepare))
            {
                return;
            }

            Deliver(prepare);
            _sim.Faults.PreparesHeldAcrossRebuilds++;
            Enter(ForgottenLifeStep.Released);
            _sim.Schedule(_sim.NowMs + 300 + _sim.Random.Next(500), _sim.Tracing ? "forgotten life heals" : null, End);
        });
    }

    /// <summary>Moves to <paramref name="step"/>, and gives up if the fault is still there TargetedStepMsMax later.</summary>
    private void Enter(ForgottenLifeStep step)
    {
        _step = step;
        Watch(step);
    }

    private void Watch(ForgottenLifeStep step) => _sim.GiveUpIfStillThere(() => _step == step && step != ForgottenLifeStep.Released, GiveUp);

    private void GiveUp() => _sim.AbandonTargetedFault(_step == ForgottenLifeStep.Over, End);

    private void End()
    {
        if (_step == ForgottenLifeStep.Over)
        {
            return;
        }

        Undo();
        _sim.EndTargetedFault(this);
    }
}
