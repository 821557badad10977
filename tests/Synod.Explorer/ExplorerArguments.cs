namespace Synod.Explorer;

/// <summary>Parses the explorer's --faults and --strategy words, with a sentence naming what is wrong.</summary>
public static class ExplorerArguments
{
    public static ExplorerFaults ParseFaults(string text)
    {
        var faults = ExplorerFaults.None;
        foreach (var word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            faults |= word.ToLowerInvariant() switch
            {
                "none" => ExplorerFaults.None,
                "crash" => ExplorerFaults.Crash,
                "drop" => ExplorerFaults.Drop,
                "dup" or "duplicate" => ExplorerFaults.Duplicate,
                "disk-loss" => ExplorerFaults.DiskLoss,
                "snapshot" => ExplorerFaults.Snapshot,
                "all" => ExplorerFaults.Crash | ExplorerFaults.Drop | ExplorerFaults.Duplicate | ExplorerFaults.DiskLoss | ExplorerFaults.Snapshot,
                _ => throw new ArgumentException($"--faults: '{word}' is not a fault; use crash, drop, dup, disk-loss, snapshot, none or all."),
            };
        }

        return faults;
    }

    public static SearchStrategy ParseStrategy(string text) => text.ToLowerInvariant() switch
    {
        "bfs" => SearchStrategy.Bfs,
        "dfs" => SearchStrategy.Dfs,
        "iddfs" => SearchStrategy.IterativeDeepening,
        "random" => SearchStrategy.RandomWalk,
        _ => throw new ArgumentException($"--strategy: '{text}' is not a strategy; use bfs, dfs, iddfs or random."),
    };
}
