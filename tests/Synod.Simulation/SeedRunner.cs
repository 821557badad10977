using Synod.Checker;

namespace Synod.Simulation;

/// <summary>Runs many seeds (in parallel: each run is independent and deterministic) and sums what they found.</summary>
public static class SeedRunner
{
    public sealed record Summary(int Seeds, IReadOnlyList<SimulationResult> Failures, long OpsChecked, FaultCounters Faults)
    {
        public string Line =>
            $"{Seeds} seeds, {Failures.Count} violations, {OpsChecked} ops checked, {Faults.Crashes} crashes, {Faults.Partitions} partitions";
    }

    /// <param name="stopAtFirstFailure">Stop early once a violation is found (for proving a bug switch is caught).</param>
    public static Summary Run(SeedRange seeds, Func<long, SimulationOptions> optionsForSeed, bool stopAtFirstFailure = false, Action<SimulationResult>? onResult = null)
    {
        var failures = new List<SimulationResult>();
        var faults = new FaultCounters();
        long opsChecked = 0;
        var gate = new object();
        var stop = false;
        Parallel.For(seeds.First, seeds.Last + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (seed, state) =>
        {
            if (Volatile.Read(ref stop))
            {
                state.Stop();
                return;
            }

            var result = Simulator.Run(optionsForSeed(seed));
            lock (gate)
            {
                faults.Add(result.Faults);
                opsChecked += result.OpsChecked;
                if (!result.Ok)
                {
                    failures.Add(result);
                    stop |= stopAtFirstFailure;
                }

                onResult?.Invoke(result);
            }
        });
        failures.Sort((a, b) => a.Seed.CompareTo(b.Seed));
        return new Summary((int)seeds.Count, failures, opsChecked, faults);
    }

    public static void PrintFailure(TextWriter output, SimulationResult failure, string reproduceArguments)
    {
        output.WriteLine($"seed={failure.Seed}: VIOLATION");
        foreach (var violation in failure.Violations)
        {
            output.WriteLine($"  {violation}");
        }

        output.WriteLine($"  reproduce: dotnet run --project tests/Synod.Simulation -c Release -- --seed {failure.Seed}{reproduceArguments}");
        if (failure.Counterexample.Count > 0)
        {
            output.WriteLine($"  shortest failing history found ({failure.Counterexample.Count} ops):");
            foreach (var line in LinearizabilityChecker.Describe(failure.Counterexample).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                output.WriteLine($"    {line}");
            }
        }
    }
}
