using System.CommandLine;
using Synod.Core;
using Synod.Simulation;

var seedsOption = new Option<string>("--seeds") { Description = "Seeds to run, FIRST..LAST (inclusive).", DefaultValueFactory = _ => "1..100" };
var seedOption = new Option<long?>("--seed") { Description = "Run one seed and print its details (overrides --seeds)." };
var replicasOption = new Option<int>("--replicas") { Description = "Replicas in the simulated cluster.", DefaultValueFactory = _ => 5 };
var opsOption = new Option<int>("--ops") { Description = "Client operations per seed (half under faults, half after healing).", DefaultValueFactory = _ => 200 };
var clientsOption = new Option<int>("--clients") { Description = "Concurrent simulated clients.", DefaultValueFactory = _ => 5 };
var bugOptions = new BugOptions("the run must then find a violation.");
var traceHashOption = new Option<bool>("--trace-hash") { Description = "Print a SHA-256 of the whole event trace (same seed, same hash)." };
var corruptOption = new Option<bool>("--corrupt-sectors") { Description = "Crashes may also damage a synced disk sector; the storage must refuse to start, and the replica is rebuilt from its peers." };
var defaults = new SimulationOptions();
var stalledOption = new Option<double>("--stalled-candidacy-probability")
{
    Description = "Per injected fault, the chance of a stalled candidacy (a Prepare held while another replica leads and snapshots; I15). 0 switches it off.",
    DefaultValueFactory = _ => defaults.StalledCandidacyProbability,
};
var forgottenOption = new Option<double>("--forgotten-life-probability")
{
    Description = "Per injected fault, the chance of a forgotten life (a Prepare held across two rebuilds; I16). 0 switches it off.",
    DefaultValueFactory = _ => defaults.ForgottenLifeProbability,
};
var earlyVoteOption = new Option<double>("--early-vote-probability")
{
    Description = "Per injected fault, the chance of an early vote (a rebuilt replica cut off from the leader the moment it votes; I14). 0 switches it off.",
    DefaultValueFactory = _ => defaults.EarlyVoteProbability,
};
var bridgeOption = new Option<double>("--bridge-probability")
{
    Description = "Per injected fault, the chance of a bridge (the largest voter, not leading, reaches only the leader for three stability windows). 0 switches it off.",
    DefaultValueFactory = _ => defaults.BridgeProbability,
};
var damagedSourceOption = new Option<double>("--damaged-source-probability")
{
    Description = "Per injected fault, the chance of a damaged snapshot source (the mapped snapshot a cut-off follower will fetch is damaged on its source's disk; the follower must fetch another's). 0 switches it off.",
    DefaultValueFactory = _ => defaults.DamagedSourceProbability,
};
var reconfigureOption = new Option<double>("--reconfigure-probability")
{
    Description = "Per run, the chance that its membership changes while it runs (spares join as learners, learners are promoted, voters and learners removed; sizes 1 to 7). 0 switches it off.",
    DefaultValueFactory = _ => defaults.ReconfigureProbability,
};
var handoverOption = new Option<double>("--handover-probability")
{
    Description = "Per run, the chance that the leader is asked now and then to hand its leadership over to another voter. 0 switches it off.",
    DefaultValueFactory = _ => defaults.HandoverProbability,
};
var upgradeOption = new Option<double>("--upgrade-probability")
{
    Description = "Per run, the chance that it begins on the build before revisions (old commands, format-2 snapshots) and is upgraded in place a quarter of the way in. 0 switches it off.",
    DefaultValueFactory = _ => defaults.UpgradeProbability,
};
var authOption = new Option<double>("--auth-probability")
{
    Description = "Per run, the chance that authentication is turned on while clients run (users root and limited; half the keys outside limited's grants). 0 switches it off.",
    DefaultValueFactory = _ => defaults.AuthProbability,
};
var unfencedOption = new Option<bool>("--unfenced-lock")
{
    Description = "The lease holders' lock recipe writes its counter without the fencing compare (a client bug): the counter oracle must then find a violation.",
};
var noPreferredOption = new Option<bool>("--no-preferred-leader")
{
    Description = "Replicas run without the preferred-leader rule (serve --preferred-leader none): the quiet-period check must then find runs that end with another leader than the largest voter.",
};
var cleanupOption = new Option<bool>("--cleanup-before-sync")
{
    Description = "The storage deletes the files a compaction supersedes before its checkpoint is durable (a storage bug): a crash in between must leave a replica that refuses to start.",
};

var preparedUnsyncedOption = new Option<bool>("--prepared-install-unsynced")
{
    Description = "The storage publishes an installed snapshot's file, written beside its restore, without syncing its data (a storage bug): a crash afterwards must leave a replica that refuses to start.",
};

var snapshotFreedEarlyOption = new Option<bool>("--snapshot-memory-freed-early")
{
    Description = "The driver gives back a snapshot's memory while the log still holds it (a driver bug): the snapshot write must then fail on freed memory.",
};

var restoredAheadOption = new Option<bool>("--restored-ahead-unchecked")
{
    Description = "A restarted replica's state machine, restored ahead from its stored snapshot, is taken at every later install whatever snapshot it is (a driver bug): a replica that installs a peer's snapshot goes back to its own older state.",
};

var root = new RootCommand("Synod's deterministic simulator: the real core and state machine on a simulated network, disk and clock, checked for linearizability.")
{
    seedsOption, seedOption, replicasOption, opsOption, clientsOption, bugOptions.Bug, bugOptions.List, traceHashOption, corruptOption,
    stalledOption, forgottenOption, earlyVoteOption, bridgeOption, damagedSourceOption, upgradeOption, reconfigureOption, handoverOption, authOption, unfencedOption, cleanupOption, preparedUnsyncedOption, snapshotFreedEarlyOption, restoredAheadOption,
    noPreferredOption,
};

root.SetAction(parse =>
{
    if (bugOptions.Read(parse, out var bugs) is int exit)
    {
        return exit;
    }

    var bugName = parse.GetValue(bugOptions.Bug);

    SeedRange seeds;
    try
    {
        var single = parse.GetValue(seedOption);
        seeds = single is long s ? new SeedRange(s, s) : SeedRange.Parse(parse.GetValue(seedsOption)!);
    }
    catch (FormatException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }

    var baseOptions = new SimulationOptions
    {
        Replicas = parse.GetValue(replicasOption),
        Ops = parse.GetValue(opsOption),
        Clients = parse.GetValue(clientsOption),
        Bugs = bugs,
        TraceHash = parse.GetValue(traceHashOption),
        CorruptSectors = parse.GetValue(corruptOption),
        StalledCandidacyProbability = parse.GetValue(stalledOption),
        ForgottenLifeProbability = parse.GetValue(forgottenOption),
        EarlyVoteProbability = parse.GetValue(earlyVoteOption),
        BridgeProbability = parse.GetValue(bridgeOption),
        DamagedSourceProbability = parse.GetValue(damagedSourceOption),
        UpgradeProbability = parse.GetValue(upgradeOption),
        ReconfigureProbability = parse.GetValue(reconfigureOption),
        HandoverProbability = parse.GetValue(handoverOption),
        AuthProbability = parse.GetValue(authOption),
        UnfencedLock = parse.GetValue(unfencedOption),
        CleanupBeforeCheckpointSync = parse.GetValue(cleanupOption),
        PreparedInstallUnsynced = parse.GetValue(preparedUnsyncedOption),
        SnapshotMemoryFreedEarly = parse.GetValue(snapshotFreedEarlyOption),
        RestoredAheadUnchecked = parse.GetValue(restoredAheadOption),
        PreferredLeader = parse.GetValue(noPreferredOption) ? ReplicaOptions.PreferNone : ReplicaOptions.PreferLargestId,
    };
    try
    {
        baseOptions.Validate();
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }

    var reproduce = (baseOptions.Replicas != 5 ? $" --replicas {baseOptions.Replicas}" : "") +
        (baseOptions.Ops != 200 ? $" --ops {baseOptions.Ops}" : "") +
        (baseOptions.Clients != 5 ? $" --clients {baseOptions.Clients}" : "") +
        (bugName is not null ? $" --bug {bugName}" : "") +
        (baseOptions.CorruptSectors ? " --corrupt-sectors" : "") +
        (baseOptions.StalledCandidacyProbability != defaults.StalledCandidacyProbability ? $" --stalled-candidacy-probability {baseOptions.StalledCandidacyProbability}" : "") +
        (baseOptions.ForgottenLifeProbability != defaults.ForgottenLifeProbability ? $" --forgotten-life-probability {baseOptions.ForgottenLifeProbability}" : "") +
        (baseOptions.EarlyVoteProbability != defaults.EarlyVoteProbability ? $" --early-vote-probability {baseOptions.EarlyVoteProbability}" : "") +
        (baseOptions.BridgeProbability != defaults.BridgeProbability ? $" --bridge-probability {baseOptions.BridgeProbability}" : "") +
        (baseOptions.DamagedSourceProbability != defaults.DamagedSourceProbability ? $" --damaged-source-probability {baseOptions.DamagedSourceProbability}" : "") +
        (baseOptions.UpgradeProbability != defaults.UpgradeProbability ? $" --upgrade-probability {baseOptions.UpgradeProbability}" : "") +
        (baseOptions.ReconfigureProbability != defaults.ReconfigureProbability ? $" --reconfigure-probability {baseOptions.ReconfigureProbability}" : "") +
        (baseOptions.HandoverProbability != defaults.HandoverProbability ? $" --handover-probability {baseOptions.HandoverProbability}" : "") +
        (baseOptions.AuthProbability != defaults.AuthProbability ? $" --auth-probability {baseOptions.AuthProbability}" : "") +
        (baseOptions.UnfencedLock ? " --unfenced-lock" : "") +
        (baseOptions.CleanupBeforeCheckpointSync ? " --cleanup-before-sync" : "") +
        (baseOptions.PreparedInstallUnsynced ? " --prepared-install-unsynced" : "") +
        (baseOptions.SnapshotMemoryFreedEarly ? " --snapshot-memory-freed-early" : "") +
        (baseOptions.RestoredAheadUnchecked ? " --restored-ahead-unchecked" : "") +
        (baseOptions.PreferredLeader == ReplicaOptions.PreferNone ? " --no-preferred-leader" : "");
    var summary = SeedRunner.Run(seeds, seed => baseOptions with { Seed = seed }, onResult: result =>
    {
        if (seeds.Count == 1 || result.TraceHash is not null)
        {
            Console.WriteLine($"seed={result.Seed} ops-checked={result.OpsChecked} {result.Faults}");
            if (result.TraceHash is not null)
            {
                Console.WriteLine($"seed={result.Seed} trace-hash={result.TraceHash}");
            }
        }
    });
    foreach (var failure in summary.Failures)
    {
        SeedRunner.PrintFailure(Console.Out, failure, reproduce);
    }

    Console.WriteLine($"faults fired: {summary.Faults}");
    Console.WriteLine(summary.Line);
    return summary.Failures.Count == 0 ? 0 : 1;
});

return root.Parse(args).Invoke();
