using System.Globalization;

namespace Synod.Chaos;

/// <summary>
/// One replica of a chaos run or of the failover benchmark: its <see cref="ReplicaProcess"/> (with the run clock in
/// every log marker, to match the timeline to the replica's own lines), its addresses and data directory, and what the
/// runner plans for it.
/// </summary>
internal sealed class ChaosReplica : ReplicaProcess
{
    /// <summary>Progress notifications every second, so that a chaos watcher tells a cut-off replica from an idle one within seconds.</summary>
    public const string WatchProgressInterval = "1s";

    /// <param name="clusterArgs">How it finds the cluster: `--peers ...` for a member of the first configuration, `--join ...` for one added later.</param>
    /// <param name="routes">`--peer-routes`: the link proxies that carry its traffic to every other id the run may use; null: none.</param>
    /// <param name="peerArgs">The `synod serve` flags that give it its peer certificate, key and CA.</param>
    public ChaosReplica(
        int id, IReadOnlyList<string> program, int tickMs, string listenEndpoint, IReadOnlyList<string> clusterArgs, string? routes, string dataDir, string logPath,
        IReadOnlyList<string> peerArgs)
        : base(id, program, ServeArgs(id, tickMs, listenEndpoint, clusterArgs, routes, dataDir, peerArgs), logPath)
    {
        ListenEndpoint = listenEndpoint;
        Joined = clusterArgs.Contains("--join");
        DataDir = dataDir;
    }

    /// <summary>Where clients reach this replica directly (peers reach it through the link proxies).</summary>
    public string ListenEndpoint { get; }

    /// <summary>Added by a membership change and started with --join; such a replica never rebuilds (it is replaced).</summary>
    public bool Joined { get; }

    /// <summary>Removed from the configuration: never started again, and out of the planner's picture and the convergence check.</summary>
    public bool Removed { get; set; }

    /// <summary>When (run clock) it was removed.</summary>
    public double RemovedAt { get; set; }

    /// <summary>Wiped after the membership changed: it may not rebuild, so it is never started again and is replaced by a new id.</summary>
    public bool Retired { get; set; }

    public string DataDir { get; }

    /// <summary>
    /// True from a wipe until the replica, started with --rebuild-from-peers, says it votes again. While true it
    /// counts against the replicas that may be rebuilding at once (docs/protocol.md, I14).
    /// </summary>
    public bool RebuildPending { get; set; }

    /// <summary>When (run clock) a killed or wiped replica is due to start again; null when none is planned.</summary>
    public double? RestartAt { get; set; }

    /// <summary>When (run clock) a paused replica is due to continue.</summary>
    public double? ResumeAt { get; set; }

    public int Start(IEnumerable<string> modeArgs, double now) => Start(modeArgs, Note(now));

    public int? Kill(double now, string why) => Kill(why, Note(now));

    public bool Pause(double now) => Pause(Note(now));

    public bool Resume(double now) => Resume(Note(now));

    public Task<bool> StopAsync(TimeSpan wait, double now) => StopAsync(wait, Note(now));

    /// <summary>Deletes the data directory, as a lost disk would; the replica must be down.</summary>
    public void WipeData()
    {
        if (State != ReplicaRunState.Down)
        {
            throw new InvalidOperationException($"replica {Id} is {State}; its data can only be wiped while it is down.");
        }

        if (Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }

    private static string Note(double now) => string.Create(CultureInfo.InvariantCulture, $"chaos t={now:0.000} s");

    private static string[] ServeArgs(
        int id, int tickMs, string listenEndpoint, IReadOnlyList<string> clusterArgs, string? routes, string dataDir, IReadOnlyList<string> peerArgs) =>
    [
        "--id", id.ToString(CultureInfo.InvariantCulture), .. clusterArgs, .. routes is null ? Array.Empty<string>() : ["--peer-routes", routes], "--listen", listenEndpoint,
        "--data-dir", dataDir, "--tick-ms", tickMs.ToString(CultureInfo.InvariantCulture), "--watch-progress-interval", WatchProgressInterval, .. peerArgs,
    ];
}
