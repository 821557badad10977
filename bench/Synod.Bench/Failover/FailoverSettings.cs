namespace Synod.Bench;

/// <summary>`synod bench-failover`: how big a cluster, how much load, how many leader kills.</summary>
public sealed record FailoverSettings
{
    public const int KillsMax = 20;
    public static readonly TimeSpan SteadyMax = TimeSpan.FromMinutes(5);

    /// <summary>How long to wait for writes to succeed again after a kill before calling the attempt a failure.</summary>
    public static readonly TimeSpan RecoveryWaitMax = TimeSpan.FromSeconds(30);

    public int Replicas { get; init; } = 5;

    public int Clients { get; init; } = 64;

    public int Kills { get; init; } = 3;

    /// <summary>Steady load before each kill.</summary>
    public TimeSpan Steady { get; init; } = TimeSpan.FromSeconds(3);

    public int ValueBytes { get; init; } = 256;

    /// <summary>Real time per replica tick; the election timeout is counted in ticks (ServerOptions).</summary>
    public int TickMs { get; init; } = 10;

    /// <summary>Where the replicas keep data and logs; a fresh temporary folder when null (deleted afterwards).</summary>
    public string? WorkDir { get; init; }

    public bool Json { get; init; }

    /// <summary>Stop the leader with SIGTERM (a graceful stop: it hands leadership over first) instead of SIGKILL.</summary>
    public bool Graceful { get; init; }

    /// <summary>Stop and restart every replica in turn with SIGTERM, leader or not (a rolling restart); --kills is then the replica count.</summary>
    public bool Rolling { get; init; }

    public required IReadOnlyList<string> ReplicaProgram { get; init; }

    /// <summary>
    /// With a value, each replica runs in a network namespace of its own and every packet between two replicas is held
    /// this long each way (<see cref="Synod.Chaos.NetnsNetwork.CreateShaped"/>; needs root); null: loopback.
    /// </summary>
    public TimeSpan? Delay { get; init; }

    public void Validate()
    {
        Core.ReplicaOptions.RequireOddReplicaCount(Replicas, "--replicas", 3, 9);

        if (Clients is < 1 or > BenchSettings.ClientsMax)
        {
            throw new ArgumentException($"--clients {Clients}: use 1 to {BenchSettings.ClientsMax}.");
        }

        if (Kills is < 1 or > KillsMax)
        {
            throw new ArgumentException($"--kills {Kills}: use 1 to {KillsMax}.");
        }

        if (Steady <= TimeSpan.Zero || Steady > SteadyMax)
        {
            throw new ArgumentException($"--steady {Steady}: use more than 0 and at most {SteadyMax}.");
        }

        if (Delay is { } delay && new Synod.Chaos.TunSwitch.LinkShape(delay, TimeSpan.Zero, 0).Problem() is { } problem)
        {
            throw new ArgumentException($"--delay: {problem}.");
        }

        if (ValueBytes is < 0 or > BenchSettings.ValueBytesMax)
        {
            throw new ArgumentException($"--value-size {ValueBytes}: use 0 to {BenchSettings.ValueBytesMax} bytes.");
        }
    }
}
