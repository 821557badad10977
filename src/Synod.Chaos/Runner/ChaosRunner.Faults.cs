using Synod.Storage;

namespace Synod.Chaos;

/// <summary>The fault phase: the clients' workload, and the loop that injects faults and recovers from them.</summary>
public sealed partial class ChaosRunner
{
    /// <summary>A replica that keeps exiting by itself is left down after this many tries, rather than restarted forever.</summary>
    private const int ExitsOnTheirOwnMax = 3;

    private const double RestartAfterExitSeconds = 1;

    /// <summary>
    /// Runs the clients and the faults for the run's duration, then heals everything while the clients still run (so
    /// the history shows the recovery) and stops them. Returns when the faults began, ended, and healing began.
    /// </summary>
    private async Task<(double Start, double End, double HealStart)> RunWorkloadAsync(CancellationToken cancellation)
    {
        var start = _clock.Now;
        _faultPhaseEnd = start + _options.Duration.TotalSeconds;
        _planner = new FaultPlanner(_options.Replicas, _options.Faults, _options.Seed, start, _options.Duration);
        _phase = "faults";
        // Every id the run may use, so that clients reach replicas added later (spare ids not running are skipped as unreachable).
        var endpoints = Enumerable.Range(1, _options.IdsMax).Select(_network!.ListenEndpoint).ToList();
        using var stopClients = new CancellationTokenSource();
        if (_options.Workloads.HasFlag(ChaosWorkload.Watch))
        {
            _watchers = [.. Enumerable.Range(1, ChaosOptions.Watchers).Select(id => new ChaosWatcher(id, endpoints))];
            _watching = [.. _watchers.Select(w => Task.Run(() => w.RunAsync(_stopWatchers.Token), CancellationToken.None))];
        }

        var registers = _options.Workloads.HasFlag(ChaosWorkload.Register) || _options.Workloads.HasFlag(ChaosWorkload.Cas) ? _options.Clients : 0;
        var banks = _options.Workloads.HasFlag(ChaosWorkload.Bank) ? _options.BankClients : 0;
        var lockers = _options.Workloads.HasFlag(ChaosWorkload.Lock) ? _options.LockClients : 0;
        var clients = Enumerable.Range(1, registers)
            .Select(id => new WorkloadClient(id, endpoints, _options.Keys, _options.Seed, _clock, _history, _options.Workloads, _changes))
            .Select(client => Task.Run(() => client.RunAsync(stopClients.Token, cancellation), CancellationToken.None))
            .Concat(Enumerable.Range(1, banks)
                .Select(id => new BankClient(id, endpoints, _options.Seed, _clock, _bank))
                .Select(client => Task.Run(() => client.RunAsync(stopClients.Token, cancellation), CancellationToken.None)))
            .Concat(Enumerable.Range(1, lockers)
                .Select(id => new LockClient(id, endpoints, _options.Seed, _locks, _options.UnfencedLock))
                .Select(client => Task.Run(() => client.RunAsync(stopClients.Token, cancellation), CancellationToken.None)))
            .ToList();
        double end;
        double healStart;
        try
        {
            await FaultLoopAsync(_faultPhaseEnd, cancellation);
            end = _clock.Now;
            _phase = "healing";
            _faultPhaseEnd = double.NaN;
            healStart = _clock.Now;
            Recover(healStart, everything: true);
        }
        finally
        {
            await stopClients.CancelAsync();
            await Task.WhenAll(clients);
        }

        return (start, end, healStart);
    }

    private async Task FaultLoopAsync(double end, CancellationToken cancellation)
    {
        var nextFaultAt = _clock.Now + FirstFaultDelaySeconds;
        while (_clock.Now < end)
        {
            await Task.Delay(FaultTickMs, cancellation);
            var now = _clock.Now;
            ObserveReplicas(now);
            Recover(now, everything: false);
            var picture = Picture(now);
            _pictures.Add(picture);
            if (now >= nextFaultAt && now < end)
            {
                if (_planner!.Next(picture) is { } plan)
                {
                    Apply(plan, now);
                    nextFaultAt = now + _planner.GapSeconds();
                }
            }
        }
    }

    /// <summary>Notices replicas that exited by themselves, and wiped replicas that vote again.</summary>
    private void ObserveReplicas(double now)
    {
        var latest = _monitor!.Latest;
        foreach (var replica in _replicas.Values)
        {
            var pid = replica.ProcessId;
            if (replica.Removed && replica.ExitedOnItsOwn(out var removedExit))
            {
                // A removed replica stops cleanly (exit code 0) once it knows; any other exit is a crash on the way out.
                _timeline.Add(removedExit == 0
                    ? new FaultEvent(now, FaultTimeline.Stopped, [replica.Id], false, $"pid {pid} stopped on its own {now - replica.RemovedAt:0.0} s after its removal")
                    : new FaultEvent(now, FaultTimeline.Exit, [replica.Id], false,
                        $"pid {pid} exited with code {removedExit} {now - replica.RemovedAt:0.0} s after its removal; a removed replica stops with 0; see logs/r{replica.Id}.log"));
            }
            else if (replica.ExitedOnItsOwn(out var exitCode))
            {
                var exits = _exitsOnTheirOwn[replica.Id] = _exitsOnTheirOwn.GetValueOrDefault(replica.Id) + 1;
                var again = exits < ExitsOnTheirOwnMax;
                replica.RestartAt = again ? now + RestartAfterExitSeconds : null;
                _timeline.Add(new FaultEvent(now, FaultTimeline.Exit, [replica.Id], false,
                    $"pid {pid} exited with code {exitCode} without being killed; see logs/r{replica.Id}.log" + (again ? "" : "; not restarted again")));
            }

            if (replica.RebuildPending && replica.State == ReplicaRunState.Running &&
                latest[replica.Id] is { Serving: true, Rebuilding: false } health && health.ProcessId == replica.ProcessId)
            {
                replica.RebuildPending = false;
                _timeline.Add(new FaultEvent(now, FaultTimeline.Rebuilt, [replica.Id], false, "rebuilt from its peers; it votes again"));
            }
        }
    }

    /// <summary>Ends the faults that are due (all of them when <paramref name="everything"/>): resumes, restarts, heals.</summary>
    private void Recover(double now, bool everything)
    {
        foreach (var replica in _replicas.Values)
        {
            if (replica.State == ReplicaRunState.Paused && (everything || replica.ResumeAt <= now) && replica.Resume(now))
            {
                replica.ResumeAt = null;
                _timeline.Add(new FaultEvent(now, FaultTimeline.Resume, [replica.Id], false, $"SIGCONT pid {replica.ProcessId}"));
            }

            var mayRestart = _exitsOnTheirOwn.GetValueOrDefault(replica.Id) < ExitsOnTheirOwnMax && !replica.Removed && !replica.Retired;
            if (replica.State == ReplicaRunState.Down && mayRestart && (everything || replica.RestartAt <= now))
            {
                replica.RestartAt = null;
                StartAgain(replica, now);
            }
        }

        if (_partitionHealAt is double healAt && (everything || healAt <= now))
        {
            var was = _network!.Description;
            _network.HealAll();
            lock (_cutOff)
            {
                _cutOff.Clear();
            }

            _partitionHealAt = null;
            _timeline.Add(new FaultEvent(now, FaultTimeline.Heal, [], false, $"healed {was}"));
        }
    }

    /// <summary>
    /// Starts a replica that is down. One whose data was wiped (or that never wrote any) must not vote as if it
    /// remembered its promises, so it restarts with --rebuild-from-peers (docs/protocol.md, I14).
    /// </summary>
    private void StartAgain(ChaosReplica replica, double now)
    {
        // A replica that joined starts with --join again (from its own state, or as a learner if it never wrote any);
        // it never rebuilds: a voter of it that lost its data is replaced.
        if (!replica.Joined && !File.Exists(Path.Combine(replica.DataDir, ReplicaStorage.MetaFileName)))
        {
            replica.RebuildPending = true;
        }

        Directory.CreateDirectory(replica.DataDir);
        string[] mode = replica.RebuildPending ? ["--rebuild-from-peers"] : [];
        var pid = replica.Start(mode, now);
        _timeline.Add(new FaultEvent(now, FaultTimeline.Restart, [replica.Id], false, $"pid {pid}{(mode.Length > 0 ? " " + mode[0] : "")}"));
    }

    private FaultPicture Picture(double now)
    {
        var latest = _monitor!.Latest;
        var healthy = Members
            .Where(r => r.State == ReplicaRunState.Running && !r.RebuildPending && !IsCutOff(r.Id) &&
                latest[r.Id] is { Serving: true } h && h.ProcessId == r.ProcessId)
            .Select(r => r.Id)
            .Order()
            .ToList();
        var sets = VoterSetsNow();
        var voters = sets.SelectMany(set => set).ToHashSet();
        return new FaultPicture(now, healthy, voters.Count(id => !healthy.Contains(id)), _replicas.Values.Count(r => r.RebuildPending), _partitionHealAt is not null)
        {
            VoterSets = sets,
            Members = [.. Members.Select(r => r.Id).Order()],
            MembershipBusy = MembershipBusy,
            SpareIds = _options.IdsMax - _nextSpareId + 1,
            MembershipChanged = _membershipChanged,
        };
    }

    private void Apply(FaultPlan plan, double now)
    {
        switch (plan.Kind)
        {
            case FaultKind.Kill:
                ApplyKill(plan, now);
                break;
            case FaultKind.Pause:
                ApplyPause(plan, now);
                break;
            case FaultKind.Wipe:
                ApplyWipe(plan, now);
                break;
            case FaultKind.Partition:
                ApplyPartition(plan, now);
                break;
            case FaultKind.Loss:
                ApplyLoss(plan, now);
                break;
            case FaultKind.Delay:
                ApplyDelay(plan, now);
                break;
            case FaultKind.Replace:
            case FaultKind.Resize:
                StartMembershipChange(plan, now);
                break;
            default:
                throw new InvalidOperationException($"the planner chose {plan.Kind}, which is not a fault it may plan.");
        }
    }

    private void ApplyKill(FaultPlan plan, double now)
    {
        var restarts = _options.Faults.Contains(FaultKind.Restart);
        var details = new List<string>();
        for (var i = 0; i < plan.Victims.Count; i++)
        {
            var replica = _replicas[plan.Victims[i]];
            var pid = replica.Kill(now, plan.Majority ? "chaos: majority kill" : "chaos: kill");
            replica.RestartAt = restarts ? now + plan.HoldSeconds[i] : null;
            details.Add($"r{replica.Id} pid {pid}" + (restarts ? $" (restart in {plan.HoldSeconds[i]:0.0} s)" : ""));
        }

        _timeline.Add(new FaultEvent(now, FaultTimeline.Kill, plan.Victims, plan.Majority, "SIGKILL " + string.Join(", ", details)));
    }

    private void ApplyPause(FaultPlan plan, double now)
    {
        var paused = new List<int>();
        var details = new List<string>();
        for (var i = 0; i < plan.Victims.Count; i++)
        {
            var replica = _replicas[plan.Victims[i]];
            if (replica.Pause(now))
            {
                replica.ResumeAt = now + plan.HoldSeconds[i];
                paused.Add(replica.Id);
                details.Add($"r{replica.Id} pid {replica.ProcessId} for {plan.HoldSeconds[i]:0.0} s");
            }
        }

        if (paused.Count > 0)
        {
            _timeline.Add(new FaultEvent(now, FaultTimeline.Pause, paused, plan.Majority, "SIGSTOP " + string.Join(", ", details)));
        }
    }

    private void ApplyWipe(FaultPlan plan, double now)
    {
        var replica = _replicas[plan.Victims[0]];
        var pid = replica.Kill(now, "chaos: wipe");
        replica.WipeData();
        if (_membershipChanged)
        {
            // Once the membership has changed a replica that lost its data may not rebuild (`serve --rebuild-from-peers`
            // refuses): the operator replaces it by a new id, as etcd asks of a member that lost its data directory.
            replica.Retired = true;
            replica.RestartAt = null;
            _timeline.Add(new FaultEvent(now, FaultTimeline.Wipe, [replica.Id], false,
                $"SIGKILL pid {pid}, data directory deleted; the membership has changed, so it is replaced rather than rebuilt"));
            StartMembershipChange(new FaultPlan(FaultKind.Replace, [replica.Id], false, []), now);
            return;
        }

        replica.RebuildPending = true;
        replica.RestartAt = now + plan.HoldSeconds[0];
        _timeline.Add(new FaultEvent(now, FaultTimeline.Wipe, [replica.Id], false,
            $"SIGKILL pid {pid}, data directory deleted; restart with --rebuild-from-peers in {plan.HoldSeconds[0]:0.0} s"));
    }

    private void ApplyPartition(FaultPlan plan, double now)
    {
        var groups = plan.Groups!;
        if (plan.OneWay)
        {
            _network!.Cut(groups[0], groups[1], oneWay: true);
        }
        else
        {
            for (var a = 0; a < groups.Count; a++)
            {
                for (var b = a + 1; b < groups.Count; b++)
                {
                    _network!.Cut(groups[a], groups[b]);
                }
            }
        }

        lock (_cutOff)
        {
            _cutOff.UnionWith(plan.Victims);
        }

        _partitionHealAt = now + plan.HoldSeconds[0];
        _timeline.Add(new FaultEvent(now, FaultTimeline.Partition, plan.Victims, plan.Majority, $"{_network!.Description} for {plan.HoldSeconds[0]:0.0} s"));
    }

    private void ApplyLoss(FaultPlan plan, double now)
    {
        _network!.Lose(plan.Victims, plan.LossPercent);
        lock (_cutOff)
        {
            _cutOff.UnionWith(plan.Victims);
        }

        _partitionHealAt = now + plan.HoldSeconds[0];
        _timeline.Add(new FaultEvent(now, FaultTimeline.Loss, plan.Victims, false, $"{_network.Description} for {plan.HoldSeconds[0]:0.0} s"));
    }

    private void ApplyDelay(FaultPlan plan, double now)
    {
        _network!.Delay(plan.Victims, TimeSpan.FromMilliseconds(plan.DelayMs));
        lock (_cutOff)
        {
            _cutOff.UnionWith(plan.Victims);
        }

        _partitionHealAt = now + plan.HoldSeconds[0];
        _timeline.Add(new FaultEvent(now, FaultTimeline.Delay, plan.Victims, false, $"{_network.Description} for {plan.HoldSeconds[0]:0.0} s"));
    }
}
