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
        "interrupted" => SearchStrategy.InterruptedElection,
        _ => throw new ArgumentException($"--strategy: '{text}' is not a strategy; use bfs, dfs, iddfs, random or interrupted."),
    };

    public static EpisodeMenu ParseEpisodes(string text)
    {
        var menu = EpisodeMenu.None;
        foreach (var word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            menu |= word.ToLowerInvariant() switch
            {
                "lose-disk" or "disk-loss" => EpisodeMenu.LoseDisk,
                "crash" => EpisodeMenu.Crash,
                "write" => EpisodeMenu.Write,
                "run" => EpisodeMenu.Run,
                "snapshot" => EpisodeMenu.Snapshot,
                "exchange" => EpisodeMenu.Exchange,
                "all" => EpisodeMenu.All,
                _ => throw new ArgumentException($"--episodes: '{word}' is not an episode; use lose-disk, crash, write, run, snapshot, exchange or all."),
            };
        }

        return menu;
    }

    public static InterruptionShapes ParseInterruptions(string text) => text.ToLowerInvariant() switch
    {
        "canonical" => InterruptionShapes.Canonical,
        "all" => InterruptionShapes.All,
        _ => throw new ArgumentException($"--interruptions: '{text}' is not a choice; use canonical or all."),
    };
}
