
namespace Synod.Chaos;

/// <summary>
/// What one chaos run does. <see cref="Validate"/> rejects a bad setting with a sentence that names it and says
/// why, before any process starts.
/// </summary>
public sealed record ChaosOptions
{
    public const int ReplicasMin = 3;

    /// <summary>The most voters of a run, a resize's growth included: the link proxies grow as the square of the replicas.</summary>
    public const int ReplicasMax = 9;

    /// <summary>
    /// Every id the run may use: the first configuration's, and with replace or resize the spare ids that replacements and
    /// growth take (each once; ids are never reused), up to <see cref="PartitionNetwork.ReplicasMax"/>, whose proxies are made at start.
    /// </summary>
    public int IdsMax => Faults.Overlaps(FaultKinds.Membership) ? PartitionNetwork.ReplicasMax : Replicas;

    public const int ClientsMax = 64;
    public const int KeysMax = 1_000;

    public static readonly TimeSpan DurationMin = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DurationMax = TimeSpan.FromHours(24);

    public int Replicas { get; init; } = 5;

    /// <summary>How long faults and the workload run; healing, convergence and the check come after.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Seeds the fault schedule and the clients' choices, so a run can be repeated (timing still varies).</summary>
    public int Seed { get; init; }

    /// <summary>Concurrent workload clients, each one operation at a time.</summary>
    public int Clients { get; init; } = 8;

    /// <summary>Keys the workload touches ("k0".."k{n-1}"); few keys make operations collide, which is what tests linearizability.</summary>
    public int Keys { get; init; } = 8;

    /// <summary>What the clients do (--workload); by default a mix of all.</summary>
    public ChaosWorkload Workloads { get; init; } = ChaosWorkload.All;

    /// <summary>With the bank workload: clients that transfer and read the accounts, besides --clients.</summary>
    public int BankClients => Math.Max(2, Clients / 4);

    /// <summary>With the lock workload: clients that take the lock and increment the fenced counter, besides --clients.</summary>
    public int LockClients => Math.Max(2, Clients / 4);

    /// <summary>The lock clients write without their fencing token (for showing that the lock check can fail).</summary>
    public bool UnfencedLock { get; init; }

    /// <summary>With the watch workload: watchers of the keys.</summary>
    public const int Watchers = 2;

    public IReadOnlySet<FaultKind> Faults { get; init; } = FaultKinds.Default();

    /// <summary>Where history.jsonl, faults.jsonl, the replica logs and report.html go; null keeps nothing.</summary>
    public string? OutDir { get; init; }

    /// <summary>
    /// The program that runs `synod` and any arguments before "serve": the synod app host, or "dotnet",
    /// "/path/synod.dll".
    /// </summary>
    public required IReadOnlyList<string> ReplicaProgram { get; init; }

    /// <summary>`synod serve --tick-ms` for every replica.</summary>
    public int TickMs { get; init; } = 10;

    /// <summary>
    /// The network: link proxies on loopback (false, the default), or a network namespace per replica with partitions
    /// made by nftables (true: `--net netns`; needs root, iproute2 and nftables).
    /// </summary>
    public bool Netns { get; init; }

    /// <summary>How long the cluster may take to elect its first leader.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the healed cluster may take to agree on one state before the run reports divergence.</summary>
    public TimeSpan ConvergenceTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The run fails if no write succeeds for longer than this while, by the planner's account, a quorum of replicas
    /// runs, votes, is connected and answers (<see cref="QuorumStall"/>). An election takes well under a second and a
    /// restarted replica's catch-up a few; 30 s is far beyond what faults that leave a quorum explain.
    /// </summary>
    public TimeSpan WriteStallMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Wall-clock budget of the linearizability check; past it the verdict is "unknown".</summary>
    public TimeSpan CheckBudget { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting and why it is bad.</summary>
    public void Validate()
    {
        Synod.Core.ReplicaOptions.RequireOddReplicaCount(Replicas, "--replicas", ReplicasMin, ReplicasMax);

        if (Duration < DurationMin || Duration > DurationMax)
        {
            throw new ArgumentException($"--duration {DurationText.Format(Duration)}: use {DurationMin.TotalSeconds:0} s to {DurationMax.TotalHours:0} h; a shorter run has no room for a fault and its recovery.");
        }

        if (Clients < 1 || Clients > ClientsMax)
        {
            throw new ArgumentException($"--clients {Clients}: use 1 to {ClientsMax}; without a client there is no history to check.");
        }

        if (Keys < 1 || Keys > KeysMax)
        {
            throw new ArgumentException($"Keys is {Keys}: use 1 to {KeysMax}; every key is read on every replica at the end.");
        }

        if (Faults.Contains(FaultKind.Restart) && !Faults.Contains(FaultKind.Kill))
        {
            throw new ArgumentException("--faults lists restart without kill: a restart brings back a killed replica, so add kill (or drop restart).");
        }

        if (Faults.Contains(FaultKind.Resize) && Replicas + 2 > ReplicasMax)
        {
            throw new ArgumentException($"--faults lists resize, which grows the voters by two: use --replicas at most {ReplicasMax - 2} (a run holds at most {ReplicasMax} voters at once).");
        }

        if (Faults.Contains(FaultKind.Loss) && !Netns)
        {
            throw new ArgumentException("--faults lists loss, which drops packets with nftables inside each replica's network namespace: add --net netns (needs root, iproute2 and nftables).");
        }

        if (Faults.Contains(FaultKind.Delay) && !Netns)
        {
            throw new ArgumentException("--faults lists delay, which holds packets in a switch between the replicas' network namespaces: add --net netns (needs root, iproute2 and the tun driver).");
        }

        if (Faults.Contains(FaultKind.Pause) && !ProcessSignals.CanPause)
        {
            throw new ArgumentException("--faults lists pause, which needs SIGSTOP and SIGCONT; this system has no POSIX signals.");
        }

        if (ReplicaProgram is null || ReplicaProgram.Count == 0 || string.IsNullOrWhiteSpace(ReplicaProgram[0]))
        {
            throw new ArgumentException("ReplicaProgram is empty; give the synod program (or dotnet and synod.dll) that runs a replica.");
        }

        if (WriteStallMax < TimeSpan.FromSeconds(5))
        {
            throw new ArgumentException($"WriteStallMax is {WriteStallMax.TotalSeconds:0.#} s; give at least 5 s, or an ordinary failover would fail the run.");
        }

        if (TickMs < 1)
        {
            throw new ArgumentException($"TickMs is {TickMs}; a tick must last at least 1 ms.");
        }
    }
}
