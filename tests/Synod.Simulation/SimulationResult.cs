using Synod.Checker;

namespace Synod.Simulation;

public sealed record SimulationResult(
    long Seed,
    IReadOnlyList<string> Violations,
    int OpsChecked,
    FaultCounters Faults,
    string? TraceHash,
    IReadOnlyList<Operation> History,
    IReadOnlyList<Operation> Counterexample)
{
    public bool Ok => Violations.Count == 0;
}
