using Synod.Client;

namespace Synod.Chaos;

/// <summary>
/// The membership faults (docs/chaos.md, "Replace and resize"): the runner changes the configuration as an operator
/// would, with the client's member API, while the other faults and the clients go on. A replace adds a spare id as a
/// learner, starts it with `serve --join`, promotes it once caught up and removes the old voter; a resize grows the
/// voters by two spare ids and the next time removes two. One change at a time; each step is retried until the cluster
/// shows it made, since faults make steps fail or leave their outcome unknown.
/// </summary>
public sealed partial class ChaosRunner
{
    private const int MembershipPollMs = 200;

    /// <summary>How long one look at the members may take, every member asked.</summary>
    private static readonly TimeSpan MembersBudget = TimeSpan.FromSeconds(3);

    /// <summary>How close (in slots) a learner must be to the leader before it is promoted: the server's own bound.</summary>
    private const long CaughtUpLagSlotsMax = 1_000;

    /// <summary>How long a removed replica may keep running, once healed, before the run calls it a replica that did not stop.</summary>
    private static readonly TimeSpan RemovedStopWait = TimeSpan.FromSeconds(30);

    private readonly Lock _membershipGate = new();

    /// <summary>The voter sets that may govern: the latest, and while a change is under way every set seen since it began.</summary>
    private List<IReadOnlyList<int>> _voterSets = [];

    private int _nextSpareId;
    private Task? _membershipChange;
    private string _membershipWhat = "";
    private readonly CancellationTokenSource _stopMembership = new();
    private readonly List<string> _membershipProblems = [];
    private int _membershipChanges;

    /// <summary>The membership has changed, or a change has begun: a wiped voter may not rebuild any more (docs/protocol.md).</summary>
    private volatile bool _membershipChanged;

    private bool MembershipBusy => _membershipChange is { IsCompleted: false };

    private IReadOnlyList<IReadOnlyList<int>> VoterSetsNow()
    {
        lock (_membershipGate)
        {
            return [.. _voterSets];
        }
    }

    /// <summary>Replicas of the configuration as the runner knows it: started, neither removed nor waiting to be replaced.</summary>
    private IEnumerable<ChaosReplica> Members => _replicas.Values.Where(r => !r.Removed && !r.Retired);

    private void StartMembershipChange(FaultPlan plan, double now)
    {
        _membershipChanged = true;
        string what;
        Func<CancellationToken, Task> steps;
        if (plan.Kind == FaultKind.Replace)
        {
            var (old, fresh) = (plan.Victims[0], _nextSpareId++);
            what = $"replace voter {old} by new replica {fresh}";
            steps = async stop =>
            {
                await AddVoterAsync(fresh, stop);
                await RemoveAsync(old, stop);
            };
        }
        else if (plan.Victims.Count == 0)
        {
            var (a, b) = (_nextSpareId++, _nextSpareId++);
            what = $"grow the voters by new replicas {a} and {b}";
            steps = async stop =>
            {
                await AddVoterAsync(a, stop);
                await AddVoterAsync(b, stop);
            };
        }
        else
        {
            what = $"shrink the voters by removing {string.Join(" and ", plan.Victims)}";
            steps = async stop =>
            {
                foreach (var victim in plan.Victims)
                {
                    await RemoveAsync(victim, stop);
                }
            };
        }

        _membershipWhat = what;
        if (_nextSpareId > _options.IdsMax)
        {
            _timeline.Add(new FaultEvent(now, FaultTimeline.Member, [], false,
                $"the run's {_options.IdsMax} ids are all used: no replace, resize or wipe after a membership change is planned from now on"));
        }

        _timeline.Add(new FaultEvent(now, plan.Kind == FaultKind.Replace ? FaultTimeline.Replace : FaultTimeline.Resize, plan.Victims, false, what));
        _membershipChange = Task.Run(() => RunMembershipChangeAsync(what, steps), CancellationToken.None);
    }

    private async Task RunMembershipChangeAsync(string what, Func<CancellationToken, Task> steps)
    {
        var stop = _stopMembership.Token;
        try
        {
            await steps(stop);
            await using var client = MembershipClient();
            var settled = await UntilAsync(client, m => !m.Pending, stop);
            lock (_membershipGate)
            {
                _voterSets = [Voters(settled)];
            }

            Interlocked.Increment(ref _membershipChanges);
            _timeline.Add(new FaultEvent(_clock.Now, FaultTimeline.Member, [], false,
                $"{what}: done; voters {string.Join(",", Voters(settled))} (revision {settled.Revision})"));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run ends or gave up on it; FinishAsync says which.
        }
        catch (Exception e)
        {
            // Whatever failed, the run reports it and goes on to stop every process it started.
            lock (_membershipGate)
            {
                _membershipProblems.Add($"{what}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>A client of the members as the run knows them now, and of <paramref name="joining"/> (being added).</summary>
    private SynodClient MembershipClient(int? joining = null) => new(new SynodClientOptions
    {
        Endpoints = [.. Members.Select(r => r.Id).Append(joining ?? 0).Where(id => id > 0).Distinct().Order().Select(_network!.ListenEndpoint)],
        OperationTimeout = TimeSpan.FromSeconds(3),
    });

    /// <summary>Adds <paramref name="id"/> as a learner, starts it with --join, waits for it to catch up and promotes it.</summary>
    private async Task AddVoterAsync(int id, CancellationToken stop)
    {
        await using var client = MembershipClient(id);
        var endpoint = _network!.ListenEndpoint(id);
        await ChangeAsync(client, SynodMemberChange.AddLearner, id, endpoint, m => m.Members.Any(x => x.Id == id), stop);
        Step($"replica {id} added as a learner at {endpoint}", [id]);
        if (!_replicas.ContainsKey(id))
        {
            var join = string.Join(",", Members.Select(r => r.ListenEndpoint));
            var replica = NewReplica(id, ["--join", join]);
            Directory.CreateDirectory(replica.DataDir);
            _replicas = new Dictionary<int, ChaosReplica>(_replicas) { [id] = replica };
            var pid = replica.Start([], _clock.Now);
            _timeline.Add(new FaultEvent(_clock.Now, FaultTimeline.Start, [id], false, $"pid {pid} --join {join}"));
        }

        await UntilAsync(client, m => m.Members.FirstOrDefault(x => x.Id == id) is { Applied: > 0 } learner && learner.Lag <= CaughtUpLagSlotsMax, stop);
        Expect(voters => voters.Append(id));
        await ChangeAsync(client, SynodMemberChange.Promote, id, "", m => m.Members.Any(x => x.Id == id && x.Voter), stop);
        Step($"replica {id} promoted to voter", [id]);
    }

    /// <summary>Removes <paramref name="id"/> (a leader hands over first); it is never started again and should stop on its own.</summary>
    private async Task RemoveAsync(int id, CancellationToken stop)
    {
        await using var client = MembershipClient();
        var before = await UntilAsync(client, m => !m.Pending, stop);
        if (before.Members.Any(m => m.Id == id))
        {
            lock (_membershipGate)
            {
                _removing = (id, before.Revision);
            }
        }

        Expect(voters => voters.Where(v => v != id));
        await ChangeAsync(client, SynodMemberChange.Remove, id, "", m => m.Members.All(x => x.Id != id), stop);
        if (_replicas.TryGetValue(id, out var replica))
        {
            lock (_membershipGate)
            {
                MarkRemoved(replica);
                _removing = null;
            }
        }

        Step($"replica {id} removed; it stops on its own", [id]);
    }

    private void Step(string text, IReadOnlyList<int> replicas) =>
        _timeline.Add(new FaultEvent(_clock.Now, FaultTimeline.Member, replicas, false, $"{_membershipWhat}: {text}"));

    /// <summary>
    /// Makes <paramref name="change"/> once no change is pending, asking again (the client takes a change already made as
    /// done) until the members show <paramref name="done"/>.
    /// </summary>
    private async Task ChangeAsync(SynodClient client, SynodMemberChange change, int id, string endpoint, Func<SynodMembers, bool> done, CancellationToken stop)
    {
        while (true)
        {
            var members = await UntilAsync(client, m => !m.Pending || done(m), stop);
            if (done(members))
            {
                return;
            }

            try
            {
                NoteVoters(await client.ChangeMemberAsync(change, id, endpoint, cancellationToken: stop));
            }
            catch (SynodException e)
            {
                // Refused for now (a promotion before the learner caught up, a change under way), no leader, or unknown:
                // the next look at the members says which.
                NoteRetry($"member {change.ToString().ToLowerInvariant()} {id}", e.Message);
            }

            await Task.Delay(MembershipPollMs, stop);
        }
    }

    /// <summary>Asks for the members until they show <paramref name="done"/>; every answer's voters are noted as a set that may govern.</summary>
    private async Task<SynodMembers> UntilAsync(SynodClient client, Func<SynodMembers, bool> done, CancellationToken stop)
    {
        while (true)
        {
            // The configuration as the replica that knows the most slots chosen has it: one cut off or behind would
            // report an older configuration as settled.
            if (await client.MostAdvancedMembersAsync(MembersBudget, stop) is { } members)
            {
                NoteVoters(members);
                if (done(members))
                {
                    return members;
                }
            }
            else
            {
                NoteRetry("member list", "no replica answered");
            }

            await Task.Delay(MembershipPollMs, stop);
        }
    }

    private string _lastRetry = "";

    /// <summary>A step that failed and is asked again goes in the timeline, once for each different reason in a row.</summary>
    private void NoteRetry(string what, string why)
    {
        var text = $"{_membershipWhat}: {what} failed ({why}); asking again";
        if (text != _lastRetry)
        {
            _lastRetry = text;
            _timeline.Add(new FaultEvent(_clock.Now, FaultTimeline.Member, [], false, text));
        }
    }

    private void NoteVoters(SynodMembers members)
    {
        var voters = Voters(members);
        lock (_membershipGate)
        {
            if (!_voterSets.Any(set => set.SequenceEqual(voters)))
            {
                _voterSets.Add(voters);
            }

            // A removal shows in any configuration newer than the one it was asked against; the replica is marked at
            // once, before it stops on its own (10 s later), so that its stop is not taken for a crash.
            if (_removing is var (id, revision) && members.Revision > revision && members.Members.All(m => m.Id != id) && _replicas.TryGetValue(id, out var replica))
            {
                MarkRemoved(replica);
                _removing = null;
            }
        }
    }

    /// <summary>The replica being removed and the configuration revision its removal was asked against, or null.</summary>
    private (int Id, long Revision)? _removing;

    private void MarkRemoved(ChaosReplica replica)
    {
        if (!replica.Removed)
        {
            replica.RemovedAt = _clock.Now;
            replica.RestartAt = null;
            replica.Removed = true;
        }
    }

    /// <summary>
    /// Counts <paramref name="next"/> among the voter sets that may govern before the change that makes it is asked for:
    /// from the moment it may be chosen, a fault must leave it a healthy quorum too.
    /// </summary>
    private void Expect(Func<IReadOnlyList<int>, IEnumerable<int>> next)
    {
        lock (_membershipGate)
        {
            IReadOnlyList<int> voters = [.. next(_voterSets[^1]).Distinct().Order()];
            if (voters.Count > 0 && !_voterSets.Any(set => set.SequenceEqual(voters)))
            {
                _voterSets.Add(voters);
            }
        }
    }

    private static IReadOnlyList<int> Voters(SynodMembers members) => [.. members.Members.Where(m => m.Voter).Select(m => m.Id).Order()];

    /// <summary>
    /// After healing: waits for the change under way to end (bounded by the convergence timeout), then checks that the
    /// cluster's voters are the ones the run made and that every removed replica stopped on its own.
    /// </summary>
    private async Task FinishMembershipAsync(CancellationToken cancellation)
    {
        if (_membershipChange is { } change)
        {
            _phase = "finishing the membership change";
            if (await Task.WhenAny(change, Task.Delay(_options.ConvergenceTimeout, cancellation)) != change)
            {
                await _stopMembership.CancelAsync();
                lock (_membershipGate)
                {
                    _membershipProblems.Add($"{_membershipWhat}: not done {_options.ConvergenceTimeout.TotalSeconds:0} s after healing.");
                }
            }

            await change;
        }

        if (!_options.Faults.Overlaps(FaultKinds.Membership))
        {
            return;
        }

        _phase = "waiting for removed replicas to stop";
        var deadline = _clock.Now + RemovedStopWait.TotalSeconds;
        while (_clock.Now < deadline && _replicas.Values.Any(r => r.Removed && r.State != ReplicaRunState.Down))
        {
            await Task.Delay(ConvergencePollMs, cancellation);
            ObserveReplicas(_clock.Now);
        }

        foreach (var replica in _replicas.Values.Where(r => r.Removed && r.State != ReplicaRunState.Down))
        {
            lock (_membershipGate)
            {
                _membershipProblems.Add(
                    $"replica {replica.Id} was removed at {replica.RemovedAt:0.0} s and still ran {RemovedStopWait.TotalSeconds:0} s after the run healed; a removed replica must stop on its own.");
            }
        }
    }

    /// <summary>The voters the cluster has at the end, which must be the run's own members that vote.</summary>
    private async Task CheckFinalVotersAsync(CancellationToken cancellation)
    {
        if (!_options.Faults.Overlaps(FaultKinds.Membership))
        {
            return;
        }

        await using var client = MembershipClient();
        try
        {
            var members = await client.MembersAsync(cancellationToken: cancellation);
            var expected = Members.Select(r => r.Id).Order().ToList();
            var listed = members.Members.Select(m => m.Id).Order().ToList();
            if (!listed.SequenceEqual(expected) || members.Members.Any(m => !m.Voter))
            {
                lock (_membershipGate)
                {
                    _membershipProblems.Add(
                        $"the cluster lists members {Ids(members.Members.Where(m => m.Voter).Select(m => m.Id))} (learners {Ids(members.Members.Where(m => !m.Voter).Select(m => m.Id))}) where the run made voters {Ids(expected)}.");
                }
            }
        }
        catch (SynodException e)
        {
            lock (_membershipGate)
            {
                _membershipProblems.Add($"the final members could not be read: {e.Message}");
            }
        }

        static string Ids(IEnumerable<int> ids) => ids.Any() ? string.Join(",", ids) : "none";
    }

    /// <summary>The membership problems so far, and how many changes completed.</summary>
    private (IReadOnlyList<string> Problems, int Changes) MembershipOutcome()
    {
        lock (_membershipGate)
        {
            return ([.. _membershipProblems], _membershipChanges);
        }
    }
}
