using System.CommandLine;
using Synod.Core;
using Synod.Explorer;

var replicasOption = new Option<int>("--replicas") { Description = "Replicas in the explored cluster (1 to 5).", DefaultValueFactory = _ => 3 };
var slotsOption = new Option<int>("--slots") { Description = "Client commands proposed in a schedule, each its own value.", DefaultValueFactory = _ => 2 };
var depthOption = new Option<int>("--depth") { Description = "Steps in one schedule.", DefaultValueFactory = _ => 12 };
var statesOption = new Option<long>("--states-max") { Description = "Distinct states (steps, for --strategy random) before the search stops.", DefaultValueFactory = _ => 200_000 };
var bugOption = new Option<string?>("--bug") { Description = "Switch on a known protocol bug (see --list-bugs); the explorer must then find a violation." };
var listBugsOption = new Option<bool>("--list-bugs") { Description = "Print the protocol bugs that --bug can switch on, one per line, and exit." };
var faultsOption = new Option<string>("--faults") { Description = "Faults to interleave, comma-separated: crash, drop, dup, disk-loss, snapshot (or none, all).", DefaultValueFactory = _ => "none" };
var strategyOption = new Option<string>("--strategy") { Description = "bfs (shortest schedules), dfs, iddfs (iterative deepening) or random (random walks restarted from the start).", DefaultValueFactory = _ => "bfs" };
var seedOption = new Option<ulong>("--seed") { Description = "Seed of --strategy random.", DefaultValueFactory = _ => 1 };
var crashesOption = new Option<int>("--crashes-max") { Description = "Crashes in one schedule.", DefaultValueFactory = _ => 1 };
var diskLossesOption = new Option<int>("--disk-losses-max") { Description = "Disk losses in one schedule.", DefaultValueFactory = _ => 1 };
var snapshotsOption = new Option<int>("--snapshots-max") { Description = "Snapshots in one schedule.", DefaultValueFactory = _ => 1 };
var dropsOption = new Option<int>("--drops-max") { Description = "Dropped messages in one schedule.", DefaultValueFactory = _ => 2 };
var duplicatesOption = new Option<int>("--duplicates-max") { Description = "Duplicated deliveries in one schedule.", DefaultValueFactory = _ => 1 };
var reorderOption = new Option<bool>("--reorder") { Description = "Messages on one link may overtake each other (by default each link delivers in order, as a peer stream does)." };
var inFlightOption = new Option<int>("--in-flight-max") { Description = "Distinct messages in flight; schedules that exceed it are cut.", DefaultValueFactory = _ => 24 };

var root = new RootCommand("Synod's bounded explorer: every schedule of a small cluster of real cores within a budget, states pruned by hash, safety checked at every state.")
{
    replicasOption, slotsOption, depthOption, statesOption, bugOption, listBugsOption, faultsOption, strategyOption, seedOption,
    crashesOption, diskLossesOption, snapshotsOption, dropsOption, duplicatesOption, inFlightOption, reorderOption,
};

root.SetAction(parse =>
{
    if (parse.GetValue(listBugsOption))
    {
        foreach (var (name, _, description) in ProtocolBugCatalog.All)
        {
            Console.WriteLine($"{name}\t{description}");
        }

        return 0;
    }

    var bugs = ProtocolBugs.None;
    var bugName = parse.GetValue(bugOption);
    if (bugName is not null && !ProtocolBugCatalog.TryParse(bugName, out bugs))
    {
        Console.Error.WriteLine($"error: --bug '{bugName}' is not a known bug; run with --list-bugs to see them.");
        return 2;
    }

    ExplorerOptions options;
    try
    {
        options = new ExplorerOptions
        {
            Replicas = parse.GetValue(replicasOption),
            Slots = parse.GetValue(slotsOption),
            DepthMax = parse.GetValue(depthOption),
            StatesMax = parse.GetValue(statesOption),
            Bugs = bugs,
            Faults = ExplorerArguments.ParseFaults(parse.GetValue(faultsOption)!),
            Strategy = ExplorerArguments.ParseStrategy(parse.GetValue(strategyOption)!),
            Seed = parse.GetValue(seedOption),
            CrashesMax = parse.GetValue(crashesOption),
            DiskLossesMax = parse.GetValue(diskLossesOption),
            SnapshotsMax = parse.GetValue(snapshotsOption),
            DropsMax = parse.GetValue(dropsOption),
            DuplicatesMax = parse.GetValue(duplicatesOption),
            InFlightMessagesMax = parse.GetValue(inFlightOption),
            ReorderWithinLink = parse.GetValue(reorderOption),
        };
        options.Validate();
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }

    Console.WriteLine($"exploring: replicas={options.Replicas} slots={options.Slots} depth={options.DepthMax} states-max={options.StatesMax} " +
        $"strategy={options.Strategy} faults={options.Faults} bug={bugName ?? "none"}{(options.ReorderWithinLink ? " reorder" : "")}");
    var result = new ScheduleExplorer(options).Run();
    if (result.Schedule is not null)
    {
        Console.WriteLine($"shortest schedule found ({result.ScheduleLength} steps):");
        Console.Write(result.Schedule);
    }

    Console.WriteLine(result.Summary);
    Console.WriteLine(result.Verdict);
    return result.Violation is null ? 0 : 1;
});

return root.Parse(args).Invoke();
