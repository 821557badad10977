using Synod.Checker;

namespace Synod.Chaos;

/// <summary>The outcome of one chaos run: what was done, what the clients saw, and the verdicts.</summary>
public sealed record ChaosResult
{
    public required ChaosOptions Options { get; init; }

    public required int OperationsOk { get; init; }

    public required int OperationsFailed { get; init; }

    public required int OperationsUnknown { get; init; }

    public required FaultCounts Faults { get; init; }

    /// <summary>Run-clock seconds when the faults began and ended; the clients ran from the start until healing was done.</summary>
    public required double WorkloadStart { get; init; }

    public required double WorkloadEnd { get; init; }

    public required WriteGap LongestWriteGap { get; init; }

    /// <summary>The longest stretch without a successful write while a quorum was healthy; null if a quorum never was.</summary>
    public QuorumStall? LongestQuorumStall { get; init; }

    /// <summary>Seconds from healing everything until every replica held the same state; null if that never happened in time.</summary>
    public required double? ConvergenceSeconds { get; init; }

    /// <summary>What differed between replicas once they claimed to agree, or why convergence was not reached; null when they agreed.</summary>
    public required string? Divergence { get; init; }

    /// <summary>The slot every replica had applied when they agreed, and how many keys they held.</summary>
    public required ulong ConvergedSlot { get; init; }

    public required int ConvergedKeys { get; init; }

    /// <summary>True or false from <see cref="LinearizabilityChecker"/>; null when the check ran out of time.</summary>
    public required bool? Linearizable { get; init; }

    public required int OperationsChecked { get; init; }

    /// <summary>A short non-linearizable sub-history, one operation per line, or empty.</summary>
    public required string Counterexample { get; init; }

    public required IReadOnlyList<Operation> History { get; init; }

    public required IReadOnlyList<FaultEvent> Timeline { get; init; }

    /// <summary>What the clients did.</summary>
    public ChaosWorkload Workloads { get; init; } = ChaosWorkload.Register;

    /// <summary>Lock: locks taken, counter changes read back, fenced writes refused, pauses past the TTL, each broken invariant.</summary>
    public int LockAcquired { get; init; }

    public int LockIncrements { get; init; }

    public int LockRefused { get; init; }

    public int LockPauses { get; init; }

    public IReadOnlyList<string> LockProblems { get; init; } = [];

    /// <summary>Bank: reads of every account, transfers attempted, and each broken invariant.</summary>
    public int BankReads { get; init; }

    public int BankTransfers { get; init; }

    public IReadOnlyList<string> BankProblems { get; init; } = [];

    /// <summary>Watch: changes the watchers reported, and each problem with them.</summary>
    public int WatchChanges { get; init; }

    public IReadOnlyList<string> WatchProblems { get; init; } = [];

    /// <summary>Where the history, fault timeline, logs and report were kept, or null.</summary>
    public required string? OutDir { get; init; }

    /// <summary>Membership changes (replace, resize) that completed.</summary>
    public int MembershipChanges { get; init; }

    /// <summary>Each membership change that did not complete, and each way the final members differ from what the run made.</summary>
    public IReadOnlyList<string> MembershipProblems { get; init; } = [];

    /// <summary>The replicas of the configuration at the end (the first ones, less those removed, plus those added).</summary>
    public IReadOnlyList<int> FinalMembers { get; init; } = [];

    public bool Passed => Problems.Count == 0;

    /// <summary>Each reason the run failed, as a sentence; empty when it passed.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            var problems = new List<string>();
            if (Linearizable == false)
            {
                problems.Add("the history is not linearizable: a client saw something no order of the operations explains.");
            }
            else if (Linearizable is null)
            {
                problems.Add($"the linearizability check ran out of its {Options.CheckBudget.TotalSeconds:0} s budget, so the verdict is unknown.");
            }

            if (Divergence is not null)
            {
                problems.Add($"the replicas did not converge: {Divergence}");
            }

            if (LongestQuorumStall is { } stall && stall.Seconds > Options.WriteStallMax.TotalSeconds)
            {
                problems.Add($"no write succeeded for {stall.Seconds:0.0} s (from {stall.From:0.0} s to {stall.To:0.0} s) while a quorum was healthy by the planner's account, over WriteStallMax ({Options.WriteStallMax.TotalSeconds:0} s); at its start: {stall.Describe()}.");
            }

            problems.AddRange(BankProblems.Take(5).Select(p => $"bank: {p}"));
            if (BankProblems.Count > 5)
            {
                problems.Add($"bank: ... and {BankProblems.Count - 5} more.");
            }

            problems.AddRange(LockProblems.Take(5).Select(p => $"lock: {p}"));
            if (LockProblems.Count > 5)
            {
                problems.Add($"lock: ... and {LockProblems.Count - 5} more.");
            }

            problems.AddRange(WatchProblems.Take(5).Select(p => $"watch: {p}"));
            if (WatchProblems.Count > 5)
            {
                problems.Add($"watch: ... and {WatchProblems.Count - 5} more.");
            }

            problems.AddRange(MembershipProblems.Select(p => $"membership: {p}"));
            if (Faults.UnexpectedExits > 0)
            {
                problems.Add($"{Faults.UnexpectedExits} replica process(es) exited without being killed (see \"exit\" in the fault timeline and the replica logs).");
            }

            return problems;
        }
    }
}
