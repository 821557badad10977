using System.CommandLine;
using Synod.Chaos;

namespace Synod.Cli;

/// <summary>
/// `synod chaos`: a fresh local cluster of real replica processes under a seeded schedule of kills, pauses,
/// restarts, wipes and partitions while clients run a mixed workload; at the end it heals everything, checks that
/// the replicas converged and that the history is linearizable, and prints a summary. Exit code 0 only when both hold.
/// See docs/chaos.md.
/// </summary>
public static class ChaosCommand
{
    public static Command Create()
    {
        var replicas = new Option<int>("--replicas") { Description = "Replicas in the cluster (odd, 3 to 9).", DefaultValueFactory = _ => 5 };
        var duration = new Option<string>("--duration") { Description = "How long faults and clients run: 60s, 2m, 1m30s.", DefaultValueFactory = _ => "60s" };
        var seed = new Option<int?>("--seed") { Description = "Seed of the fault schedule and the workload (default: random, printed)." };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients, one operation at a time each.", DefaultValueFactory = _ => 8 };
        var faults = new Option<string?>("--faults")
        {
            Description = $"Fault kinds to inject, comma-separated, from {FaultKinds.Describe(FaultKinds.All)} (default: {FaultKinds.Describe(FaultKinds.Default())}; replace and resize change the membership meanwhile and are asked for by name).",
        };
        var workload = new Option<string?>("--workload")
        {
            Description = "What the clients do, comma-separated: register (get/put/delete, checked for linearizability), cas (compare-and-swaps, checked with them), bank (transfers by transaction; every read of all accounts must sum to the total), watch (watchers checked against the acknowledged writes), lock (a counter incremented under a lock by writes fenced with its token, while holders pause past their TTL). Default: all.",
        };
        var outDir = new Option<string?>("--out") { Description = "Keep history.jsonl, faults.jsonl, the replica logs and report.html in this folder." };
        var unfenced = new Option<bool>("--bug-unfenced-lock") { Description = "The lock clients write the counter without their fencing token: the lock check must then fail (it proves the check can)." };
        var net = new Option<string>("--net")
        {
            Description = "proxy: peers talk through link proxies on loopback, which partitions block; netns: each replica in a network namespace of its own, partitions made of packet drops by nftables (needs root, iproute2 and nftables).",
            DefaultValueFactory = _ => "proxy",
        };
        net.AcceptOnlyFromAmong("proxy", "netns");
        var command = new Command("chaos", "Run a local cluster under injected faults with concurrent clients, then check the history for linearizability.")
        {
            replicas, duration, seed, clients, faults, workload, outDir, unfenced, net,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            ChaosOptions options;
            try
            {
                options = new ChaosOptions
                {
                    Replicas = parse.GetValue(replicas),
                    Duration = DurationText.Parse(parse.GetValue(duration)!),
                    Seed = parse.GetValue(seed) ?? Random.Shared.Next(),
                    Clients = parse.GetValue(clients),
                    Faults = parse.GetValue(faults) is { } list ? FaultKinds.Parse(list) : FaultKinds.Default(),
                    OutDir = parse.GetValue(outDir),
                    Workloads = parse.GetValue(workload) is { } names ? ChaosWorkloads.Parse(names) : ChaosWorkload.All,
                    ReplicaProgram = SelfProgram.Get(),
                    UnfencedLock = parse.GetValue(unfenced),
                    Netns = parse.GetValue(net) == "netns",
                };
                options.Validate();
                if (options.Netns && NetnsNetwork.Unavailable() is { } why)
                {
                    throw new ArgumentException($"--net netns needs network namespaces, and this machine cannot make them ({why}); run as root with iproute2 and nftables, or use --net proxy.");
                }
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            return await RunAsync(options, cancellation);
        });
        return command;
    }

    private static async Task<int> RunAsync(ChaosOptions options, CancellationToken cancellation)
    {
        var runner = new ChaosRunner(options);
        Console.WriteLine($"synod chaos: {options.Replicas} replicas, {DurationText.Format(options.Duration)}, seed {options.Seed}, " +
            $"{options.Clients} clients, workloads {ChaosWorkloads.Describe(options.Workloads)}, faults {FaultKinds.Describe(options.Faults)}; replica logs in {runner.LogDir}");
        var run = runner.RunAsync(cancellation);
        try
        {
            await ChaosDisplay.ShowAsync(runner, run);
            var result = await run;
            Console.WriteLine();
            Console.Write(ChaosSummary.Render(result));
            return result.Passed ? ExitCodes.Ok : ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine($"interrupted: every replica this run started has been stopped; no verdict. Replica logs: {runner.LogDir}");
            return ExitCodes.Failure;
        }
        catch (ChaosSetupException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
