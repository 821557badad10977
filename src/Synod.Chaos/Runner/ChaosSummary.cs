using System.Text;

namespace Synod.Chaos;

/// <summary>The summary printed at the end of a run (and kept as summary.txt).</summary>
public static class ChaosSummary
{
    public static string Render(ChaosResult result)
    {
        var o = result.Options;
        var f = result.Faults;
        var seconds = Math.Max(result.WorkloadEnd - result.WorkloadStart, 1e-9);
        var text = new StringBuilder();
        text.AppendLine($"chaos: {o.Replicas} replicas, {DurationText.Format(o.Duration)}, seed {o.Seed}, {o.Clients} clients, faults {FaultKinds.Describe(o.Faults)}");
        text.AppendLine($"  operations    {result.OperationsOk} ok, {result.OperationsFailed} failed, {result.OperationsUnknown} unknown ({result.OperationsOk / seconds:0} ok/s)");
        text.AppendLine($"  faults        kills {f.Kills}, pauses {f.Pauses}, restarts {f.Restarts}, wipes {f.Wipes}, partitions {f.Partitions}{(o.Faults.Contains(FaultKind.Loss) ? $", losses {f.Losses}" : "")}{(o.Faults.Contains(FaultKind.Delay) ? $", delays {f.Delays}" : "")} (majority faults {f.MajorityFaults}, unexpected exits {f.UnexpectedExits})");
        if (o.Faults.Overlaps(FaultKinds.Membership))
        {
            text.AppendLine($"  membership    replaces {f.Replaces}, resizes {f.Resizes}, {result.MembershipChanges} changes completed; members at the end {string.Join(",", result.FinalMembers)}");
        }

        var gap = result.LongestWriteGap;
        text.AppendLine($"  no-write gap  {gap.Seconds:0.00} s longest with no successful write (from {gap.From:0.00} s to {gap.To:0.00} s)");
        if (result.LongestQuorumStall is { } stall)
        {
            text.AppendLine($"  with quorum   {stall.Seconds:0.00} s longest with no successful write while a quorum was healthy (from {stall.From:0.00} s; bound {o.WriteStallMax.TotalSeconds:0} s)");
        }
        text.AppendLine(result.ConvergenceSeconds is double converged
            ? $"  convergence   {converged:0.00} s after healing: all {result.FinalMembers.Count} replicas applied slot {result.ConvergedSlot} and hold the same {result.ConvergedKeys} keys"
            : $"  convergence   none: {result.Divergence}");
        if (result.ConvergenceSeconds is not null && result.Divergence is not null)
        {
            text.AppendLine($"  divergence    {result.Divergence}");
        }

        text.AppendLine($"  linearizable: {(result.Linearizable switch { true => "yes", false => "no", null => "unknown (check timed out)" })} ({result.OperationsChecked} operations checked)");
        text.AppendLine($"  workloads: {ChaosWorkloads.Describe(result.Workloads)}");
        if (result.Workloads.HasFlag(ChaosWorkload.Bank))
        {
            text.AppendLine($"  bank: {result.BankReads} reads of every account, {result.BankTransfers} transfers; the total held: {(result.BankProblems.Count == 0 ? "yes" : $"no ({result.BankProblems.Count} problems)")}");
        }

        if (result.Workloads.HasFlag(ChaosWorkload.Lock))
        {
            text.AppendLine($"  lock: {result.LockAcquired} locks taken, {result.LockIncrements} fenced increments applied, {result.LockRefused} late writes refused after {result.LockPauses} pauses past the TTL; every increment counted once, tokens strictly increasing: {(result.LockProblems.Count == 0 ? "yes" : $"no ({result.LockProblems.Count} problems)")}");
        }

        if (result.Workloads.HasFlag(ChaosWorkload.Watch))
        {
            text.AppendLine($"  watch: {result.WatchChanges} changes reported to {ChaosOptions.Watchers} watchers; all in order, none missing or repeated: {(result.WatchProblems.Count == 0 ? "yes" : $"no ({result.WatchProblems.Count} problems)")}");
        }
        if (result.Counterexample.Length > 0)
        {
            text.AppendLine("  counterexample:");
            foreach (var line in result.Counterexample.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                text.AppendLine($"    {line}");
            }
        }

        foreach (var problem in result.Problems)
        {
            text.AppendLine($"  problem: {problem}");
        }

        text.AppendLine(result.Passed ? "  result        PASS" : $"  result        FAIL (reproduce the schedule with --seed {o.Seed})");
        if (result.OutDir is not null)
        {
            text.AppendLine($"  kept in       {result.OutDir} (history.jsonl, faults.jsonl, failures.txt, logs/, report.html)");
        }

        return text.ToString();
    }
}
