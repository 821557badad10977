using Grpc.Core;
using Synod.Checker;
using Synod.Client;

namespace Synod.Chaos;

/// <summary>The end of a run: heal, wait for one state everywhere, read it back, check the history, keep the evidence.</summary>
public sealed partial class ChaosRunner
{
    private const int ConvergencePollMs = 250;

    /// <summary>States must differ this many times in a row, at one stable applied slot, before the run calls it divergence.</summary>
    private const int DivergenceSightingsMin = 2;

    /// <summary>Client id of the final reads in the history; the workload clients are 1..N.</summary>
    private const int FinalReaderClientId = 0;

    private static readonly TimeSpan FinalReadTimeout = TimeSpan.FromSeconds(5);

    private async Task<ChaosResult> FinishAsync(double start, double end, double healStart, CancellationToken cancellation)
    {
        await FinishMembershipAsync(cancellation);
        _phase = "waiting for convergence";
        // Convergence gets its whole timeout after the membership change ends (it may take most of its own).
        var convergence = await ConvergeAsync(healStart, Math.Max(healStart, _clock.Now), cancellation);
        await CheckFinalVotersAsync(cancellation);
        _phase = "final reads";
        await FinalReadsAsync(cancellation);
        var (watchStretches, watchProblems) = await FinishWatchersAsync(cancellation);
        var (bankReads, bankTransfers, bankFailures, openedAt) = _bank.Snapshot();
        var bankProblems = BankCheck.Problems(bankReads, BankClient.Accounts, BankClient.Total, openedAt);
        var (lockChanges, lockProblems) = await CheckLockAsync(cancellation);
        var locks = _locks.Snapshot();

        // The replicas have said all they can; stop them now rather than keep them through a check that may be long.
        _phase = "stopping replicas";
        await StopReplicasAsync();
        var history = _history.Operations;
        _phase = $"checking {history.Count} operations";
        var check = await Task.Run(() => LinearizabilityChecker.Check(history, _options.CheckBudget), CancellationToken.None).WaitAsync(cancellation);
        var (ok, failed, unknown) = _history.Counts;
        var (membershipProblems, membershipChanges) = MembershipOutcome();
        var result = new ChaosResult
        {
            MembershipProblems = membershipProblems,
            MembershipChanges = membershipChanges,
            FinalMembers = [.. Members.Select(r => r.Id).Order()],
            Options = _options,
            OperationsOk = ok,
            OperationsFailed = failed,
            OperationsUnknown = unknown,
            Faults = FaultCounts.From(_timeline),
            WorkloadStart = start,
            WorkloadEnd = end,
            LongestWriteGap = WriteGap.Longest(history.Where(op => op.ClientId != FinalReaderClientId), start, end),
            LongestQuorumStall = QuorumStall.Longest(history.Where(op => op.ClientId != FinalReaderClientId), _pictures, _options.Replicas, start, end),
            ConvergenceSeconds = convergence.Seconds,
            Divergence = convergence.Difference,
            ConvergedSlot = convergence.Slot,
            ConvergedKeys = convergence.Keys,
            Linearizable = check.TimedOut ? null : check.Linearizable,
            OperationsChecked = check.OperationsChecked,
            Counterexample = check.Counterexample.Count > 0 ? $"key {check.FailingKey}:\n{LinearizabilityChecker.Describe(check.Counterexample)}" : "",
            History = history,
            Workloads = _options.Workloads,
            BankReads = bankReads.Count,
            BankTransfers = bankTransfers,
            BankProblems = bankProblems,
            LockAcquired = locks.Acquired,
            LockIncrements = lockChanges,
            LockRefused = locks.Refused,
            LockPauses = locks.Paused,
            LockProblems = lockProblems,
            WatchChanges = watchStretches.Sum(w => w.Changes.Count),
            WatchProblems = watchProblems,
            Timeline = _timeline.Events,
            OutDir = _outDir,
        };
        _phase = "writing the report";
        WriteOutputs(result);
        _phase = result.Passed ? "done: pass" : "done: FAIL";

        // Without --out, a run that passed leaves nothing behind; a failed one keeps its evidence in the temporary folder.
        return result with { OutDir = _options.OutDir is null && result.Passed ? null : _outDir };
    }

    /// <summary>
    /// Lets the watchers catch up with the last acknowledged change (they resume on their own after the faults), stops
    /// them and checks what each saw against the acknowledged writes.
    /// </summary>
    private async Task<(IReadOnlyList<WatchCheck.Watcher> Stretches, IReadOnlyList<string> Problems)> FinishWatchersAsync(CancellationToken cancellation)
    {
        if (_watchers.Count == 0)
        {
            return ([], []);
        }

        _phase = "watchers catching up";
        var last = _changes.Last;
        var deadline = _clock.Now + WatchCatchUpTimeout.TotalSeconds;
        while (_clock.Now < deadline && _watchers.Any(w => w.CoveredTo < last))
        {
            await Task.Delay(ConvergencePollMs, cancellation);
        }

        await _stopWatchers.CancelAsync();
        await Task.WhenAll(_watching);
        var stretches = _watchers.SelectMany(w => w.Stretches()).ToList();
        var problems = WatchCheck.Problems(stretches, _changes.Snapshot()).ToList();
        foreach (var watcher in _watchers.Where(w => w.CoveredTo < last))
        {
            problems.Add($"a watcher was told about revisions up to {watcher.CoveredTo} only, {WatchCatchUpTimeout.TotalSeconds:0} s after the cluster converged at a last acknowledged change of revision {last}.");
        }

        return (stretches, problems);
    }

    /// <summary>How long the watchers may take, after convergence, to report the last acknowledged change.</summary>
    private static readonly TimeSpan WatchCatchUpTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Polls until every replica runs its current process, votes (no rebuild pending), has applied the same slot
    /// as the highest commit any of them knows, and holds the same value for every key at that slot.
    /// </summary>
    private async Task<(double? Seconds, string? Difference, ulong Slot, int Keys)> ConvergeAsync(double healStart, double waitStart, CancellationToken cancellation)
    {
        var deadline = waitStart + _options.ConvergenceTimeout.TotalSeconds;
        var keys = Enumerable.Range(0, _options.Keys).Select(k => $"k{k}").ToList();
        var sightings = 0;
        string waitingFor = "no heartbeat yet";
        while (_clock.Now < deadline)
        {
            await Task.Delay(ConvergencePollMs, cancellation);
            ObserveReplicas(_clock.Now);
            Recover(_clock.Now, everything: true);
            await _monitor!.BeatAsync(cancellation);
            ObserveReplicas(_clock.Now);
            if (AgreedSlot(out waitingFor) is not ulong slot)
            {
                continue;
            }

            Dictionary<int, Dictionary<string, string?>> states;
            try
            {
                states = await ReadStatesAsync(keys, cancellation);
            }
            catch (RpcException e)
            {
                waitingFor = $"a final state read failed ({e.Status.Detail})";
                continue;
            }

            var converged = _clock.Now;
            await _monitor.BeatAsync(cancellation);
            if (AgreedSlot(out waitingFor) != slot)
            {
                continue;
            }

            var difference = CompareStates(states);
            if (difference is null)
            {
                return (converged - healStart, null, slot, states.Values.First().Count(s => s.Value is not null));
            }

            if (++sightings >= DivergenceSightingsMin)
            {
                return (null, $"at applied slot {slot}, {difference}", slot, 0);
            }
        }

        var since = waitStart > healStart ? "the end of the membership change under way at healing" : "healing";
        return (null, $"the replicas did not agree within {_options.ConvergenceTimeout.TotalSeconds:0} s of {since} ({waitingFor}).", 0, 0);
    }

    /// <summary>The slot every replica has applied, if they all agree and it is the newest commit any knows of.</summary>
    private ulong? AgreedSlot(out string waitingFor)
    {
        var members = Members.ToList();
        var latest = _monitor!.Latest.Where(h => members.Exists(r => r.Id == h.Key)).ToDictionary();
        foreach (var replica in members)
        {
            var health = latest[replica.Id];
            if (replica.State != ReplicaRunState.Running || !health.Serving || health.ProcessId != replica.ProcessId)
            {
                waitingFor = $"replica {replica.Id} is not answering";
                return null;
            }

            if (health.Rebuilding)
            {
                waitingFor = $"replica {replica.Id} is still rebuilding";
                return null;
            }
        }

        var slots = latest.Values.Select(h => h.AppliedSlot).Distinct().ToList();
        var newest = latest.Values.Max(h => Math.Max(h.CommitIndex, h.HighestKnownCommit));
        if (slots.Count != 1 || slots[0] < newest)
        {
            waitingFor = "applied slots differ: " + string.Join(", ", latest.Values.OrderBy(h => h.Id).Select(h => $"r{h.Id}={h.AppliedSlot}")) + $" (newest commit {newest})";
            return null;
        }

        waitingFor = "";
        return slots[0];
    }

    private async Task<Dictionary<int, Dictionary<string, string?>>> ReadStatesAsync(List<string> keys, CancellationToken cancellation)
    {
        var states = new Dictionary<int, Dictionary<string, string?>>();
        foreach (var id in Members.Select(r => r.Id).Order())
        {
            states[id] = await _monitor!.ReadStateAsync(id, keys, cancellation);
        }

        return states;
    }

    /// <summary>The first key on which two replicas differ, as a sentence, or null when all hold the same state.</summary>
    private static string? CompareStates(Dictionary<int, Dictionary<string, string?>> states)
    {
        var (firstId, first) = states.OrderBy(s => s.Key).First();
        foreach (var (id, state) in states.OrderBy(s => s.Key))
        {
            foreach (var (key, value) in first)
            {
                var other = state.GetValueOrDefault(key);
                if (other != value)
                {
                    return $"replica {id} holds {key}={other ?? "(absent)"} where replica {firstId} holds {key}={value ?? "(absent)"}.";
                }
            }
        }

        return null;
    }

    /// <summary>One linearizable read of every key, recorded in the history: the final state must follow from the operations.</summary>
    /// <summary>
    /// Reads every change of the fenced counter from revision 1 (a watch over the history) up to the revision the
    /// cluster has now, and checks them with the lock clients' acknowledgements.
    /// </summary>
    private async Task<(int Changes, IReadOnlyList<string> Problems)> CheckLockAsync(CancellationToken cancellation)
    {
        if (!_options.Workloads.HasFlag(ChaosWorkload.Lock))
        {
            return (0, []);
        }

        _phase = "reading the fenced counter's history";
        await using var reader = new SynodClient(new SynodClientOptions
        {
            Endpoints = [.. Members.OrderBy(r => r.Id).Select(r => r.ListenEndpoint)],
            OperationTimeout = FinalReadTimeout,
        });
        var changes = new List<LockCheck.Change>();
        try
        {
            var now = (await reader.RangeAsync(SynodRange.Prefix(LockClient.CounterKey), cancellationToken: cancellation)).Revision;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            deadline.CancelAfter(WatchCatchUpTimeout);
            await foreach (var change in reader.WatchKeyAsync(LockClient.CounterKey, new SynodWatchOptions { StartRevision = 1, ProgressNotify = true }, deadline.Token))
            {
                if (change.Type == SynodWatchEventType.Put)
                {
                    changes.Add(new LockCheck.Change(change.Revision, change.ValueAsString() ?? ""));
                }

                if (change.Revision >= now)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SynodException or OperationCanceledException && !cancellation.IsCancellationRequested)
        {
            return (changes.Count, [$"the counter's changes could not be read back: {e.Message}"]);
        }

        var (_, acknowledged, _, unknown, _, _) = _locks.Snapshot();
        return (changes.Count, LockCheck.Problems(changes, acknowledged, unknown));
    }

    private async Task FinalReadsAsync(CancellationToken cancellation)
    {
        await using var reader = new SynodClient(new SynodClientOptions
        {
            Endpoints = [.. Members.OrderBy(r => r.Id).Select(r => r.ListenEndpoint)],
            OperationTimeout = FinalReadTimeout,
        });
        foreach (var key in Enumerable.Range(0, _options.Keys).Select(k => $"k{k}"))
        {
            var invoke = _clock.Now;
            try
            {
                var value = (await reader.GetAsync(key, cancellationToken: cancellation)).ValueAsString();
                _history.Add(new Operation(FinalReaderClientId, OperationKind.Get, key, null, value, invoke, _clock.Now, Outcome.Ok));
            }
            catch (SynodNotFoundException)
            {
                _history.Add(new Operation(FinalReaderClientId, OperationKind.Get, key, null, null, invoke, _clock.Now, Outcome.Ok));
            }
            catch (SynodException)
            {
                _history.Add(new Operation(FinalReaderClientId, OperationKind.Get, key, null, null, invoke, _clock.Now, Outcome.Fail));
            }
        }
    }

    private void WriteOutputs(ChaosResult result)
    {
        Directory.CreateDirectory(_outDir);
        using (var history = new StreamWriter(Path.Combine(_outDir, "history.jsonl")))
        {
            HistoryJsonl.Write(history, result.History);
        }

        using (var faults = new StreamWriter(Path.Combine(_outDir, "faults.jsonl")))
        {
            FaultTimeline.WriteJsonl(faults, result.Timeline);
        }

        File.WriteAllLines(Path.Combine(_outDir, "failures.txt"), _history.Failures);
        File.WriteAllText(Path.Combine(_outDir, "summary.txt"), ChaosSummary.Render(result));
        File.WriteAllText(Path.Combine(_outDir, "report.html"), ChaosReport.Render(result));
    }

    /// <summary>Stops every replica this run started (SIGTERM, then SIGKILL), the proxies and the monitor; deletes the data.</summary>
    private async Task StopEverythingAsync(bool keepOutput)
    {
        await _stopMembership.CancelAsync();
        if (_membershipChange is { } change)
        {
            // It records its own failures; whatever it threw, every process is stopped below.
            await change.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        try
        {
            await StopReplicasAsync();
        }
        finally
        {
            foreach (var replica in _replicas.Values)
            {
                replica.Dispose();
            }

            _monitor?.Dispose();
            if (_network is not null)
            {
                await _network.DisposeAsync();
            }

            // The data is only evidence while the replicas run; the logs and history stay when the user asked for
            // them (--out, elsewhere) or when a run without --out failed, so that there is something to look at.
            TryDelete(keepOutput ? Path.Combine(_workDir, "data") : _workDir);
            TryDelete(Path.Combine(_workDir, "certs"));
        }
    }

    private async Task StopReplicasAsync()
    {
        var now = _clock.Now;
        await Task.WhenAll(_replicas.Values.Select(r => r.StopAsync(StopWait, now)));
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary folder is harmless, and failing here would hide the run's result.
        }
    }
}
