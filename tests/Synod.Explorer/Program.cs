using System.CommandLine;
using Synod.Core;
using Synod.Explorer;
using Synod.Simulation;

var replicasOption = new Option<int>("--replicas") { Description = "Replicas in the explored cluster (1 to 5).", DefaultValueFactory = _ => 3 };
var slotsOption = new Option<int>("--slots") { Description = "Client commands proposed in a schedule, each its own value.", DefaultValueFactory = _ => 2 };
var depthOption = new Option<int>("--depth") { Description = "Steps in one schedule.", DefaultValueFactory = _ => 12 };
var statesOption = new Option<long>("--states-max") { Description = "Distinct states (steps, for --strategy random) before the search stops.", DefaultValueFactory = _ => 200_000 };
var bugOptions = new BugOptions("the explorer must then find a violation.");
var faultsOption = new Option<string>("--faults") { Description = "Faults to interleave, comma-separated: crash, drop, dup, disk-loss, snapshot (or none, all).", DefaultValueFactory = _ => "none" };
var strategyOption = new Option<string>("--strategy") { Description = "bfs (shortest schedules), dfs, iddfs (iterative deepening), random (random walks restarted from the start) or interrupted (coarse episodes around an interrupted election).", DefaultValueFactory = _ => "bfs" };
var seedOption = new Option<ulong>("--seed") { Description = "Seed of --strategy random.", DefaultValueFactory = _ => 1 };
var crashesOption = new Option<int>("--crashes-max") { Description = "Crashes in one schedule.", DefaultValueFactory = _ => 1 };
var diskLossesOption = new Option<int>("--disk-losses-max") { Description = "Disk losses in one schedule (2 for --strategy interrupted).", DefaultValueFactory = _ => 1 };
var snapshotsOption = new Option<int>("--snapshots-max") { Description = "Snapshots in one schedule.", DefaultValueFactory = _ => 1 };
var dropsOption = new Option<int>("--drops-max") { Description = "Dropped messages in one schedule.", DefaultValueFactory = _ => 2 };
var duplicatesOption = new Option<int>("--duplicates-max") { Description = "Duplicated deliveries in one schedule.", DefaultValueFactory = _ => 1 };
var reorderOption = new Option<bool>("--reorder") { Description = "Messages on one link may overtake each other (by default each link delivers in order, as a peer stream does)." };
var inFlightOption = new Option<int>("--in-flight-max") { Description = "Distinct messages in flight; schedules that exceed it are cut (unbounded for --strategy interrupted).", DefaultValueFactory = _ => 24 };
var episodesMaxOption = new Option<int>("--episodes-max") { Description = "--strategy interrupted: episodes of the other replicas between the interruption and the reconnections.", DefaultValueFactory = _ => 3 };
var reconnectsMaxOption = new Option<int>("--reconnects-max") { Description = "--strategy interrupted: reconnections of a peer with the interrupted candidate.", DefaultValueFactory = _ => 2 };
var settleTicksOption = new Option<int>("--settle-ticks") { Description = "--strategy interrupted: ticks the replicas of an episode run together.", DefaultValueFactory = _ => 24 };
var interruptionsOption = new Option<string>("--interruptions") { Description = "--strategy interrupted: canonical (one interrupted election) or all (every shape).", DefaultValueFactory = _ => "canonical" };
var episodesOption = new Option<string>("--episodes") { Description = "--strategy interrupted: episodes to try, comma-separated: lose-disk, crash, write, run, snapshot, exchange (or all).", DefaultValueFactory = _ => "lose-disk,write,snapshot" };

var root = new RootCommand("Synod's bounded explorer: every schedule of a small cluster of real cores within a budget, states pruned by hash, safety checked at every state.")
{
    replicasOption, slotsOption, depthOption, statesOption, bugOptions.Bug, bugOptions.List, faultsOption, strategyOption, seedOption,
    crashesOption, diskLossesOption, snapshotsOption, dropsOption, duplicatesOption, inFlightOption, reorderOption,
    episodesMaxOption, reconnectsMaxOption, settleTicksOption, interruptionsOption, episodesOption,
};

root.SetAction(parse =>
{
    if (bugOptions.Read(parse, out var bugs) is int exit)
    {
        return exit;
    }

    var bugName = parse.GetValue(bugOptions.Bug);

    ExplorerOptions options;
    try
    {
        // A strategy brings its own defaults (ExplorerOptions.InterruptedElection); what the command line names overrides them.
        var strategy = ExplorerArguments.ParseStrategy(parse.GetValue(strategyOption)!);
        var preset = strategy == SearchStrategy.InterruptedElection ? ExplorerOptions.InterruptedElection : new ExplorerOptions();
        bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
        T Pick<T>(Option<T> option, T fallback) => Given(option) ? parse.GetValue(option)! : fallback;
        options = preset with
        {
            Replicas = Pick(replicasOption, preset.Replicas),
            Slots = Pick(slotsOption, preset.Slots),
            DepthMax = Pick(depthOption, preset.DepthMax),
            StatesMax = Pick(statesOption, preset.StatesMax),
            Bugs = bugs,
            Faults = Given(faultsOption) ? ExplorerArguments.ParseFaults(parse.GetValue(faultsOption)!) : preset.Faults,
            Strategy = strategy,
            Seed = Pick(seedOption, preset.Seed),
            CrashesMax = Pick(crashesOption, preset.CrashesMax),
            DiskLossesMax = Pick(diskLossesOption, preset.DiskLossesMax),
            SnapshotsMax = Pick(snapshotsOption, preset.SnapshotsMax),
            DropsMax = Pick(dropsOption, preset.DropsMax),
            DuplicatesMax = Pick(duplicatesOption, preset.DuplicatesMax),
            InFlightMessagesMax = Pick(inFlightOption, preset.InFlightMessagesMax),
            ReorderWithinLink = Pick(reorderOption, preset.ReorderWithinLink),
            EpisodesMax = Pick(episodesMaxOption, preset.EpisodesMax),
            ReconnectsMax = Pick(reconnectsMaxOption, preset.ReconnectsMax),
            SettleTicks = Pick(settleTicksOption, preset.SettleTicks),
            Interruptions = Given(interruptionsOption) ? ExplorerArguments.ParseInterruptions(parse.GetValue(interruptionsOption)!) : preset.Interruptions,
            Episodes = Given(episodesOption) ? ExplorerArguments.ParseEpisodes(parse.GetValue(episodesOption)!) : preset.Episodes,
        };
        options.Validate();
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }

    Console.WriteLine($"exploring: replicas={options.Replicas} slots={options.Slots} depth={options.DepthMax} states-max={options.StatesMax} " +
        $"strategy={options.Strategy} faults={options.Faults} bug={bugName ?? "none"}{(options.ReorderWithinLink ? " reorder" : "")}" +
        (options.Strategy == SearchStrategy.InterruptedElection
            ? $" interruptions={options.Interruptions} episodes={options.Episodes} episodes-max={options.EpisodesMax} reconnects-max={options.ReconnectsMax} " +
              $"settle-ticks={options.SettleTicks} disk-losses-max={options.DiskLossesMax} crashes-max={options.CrashesMax} snapshots-max={options.SnapshotsMax}"
            : ""));
    var result = new ScheduleExplorer(options).Run();
    if (result.Schedule is not null)
    {
        var shortest = options.Strategy is SearchStrategy.Bfs or SearchStrategy.IterativeDeepening ? "shortest schedule" : "schedule";
        Console.WriteLine($"{shortest} found ({result.ScheduleLength} steps):");
        Console.Write(result.Schedule);
    }

    Console.WriteLine(result.Summary);
    if (result.Detail is not null)
    {
        Console.WriteLine(result.Detail);
    }

    Console.WriteLine(result.Verdict);
    return result.Violation is null ? 0 : 1;
});

return root.Parse(args).Invoke();
