using Synod.Core;

namespace Synod.Simulation;

/// <summary>One simulated run. Times are simulated milliseconds; everything random derives from <see cref="Seed"/>.</summary>
public sealed record SimulationOptions
{
    public long Seed { get; init; } = 1;

    public int Replicas { get; init; } = 5;

    /// <summary>Client operations in the whole run; the first half runs under faults, the rest after healing.</summary>
    public int Ops { get; init; } = 200;

    public int Clients { get; init; } = 5;

    public int Keys { get; init; } = 4;

    public ProtocolBugs Bugs { get; init; } = ProtocolBugs.None;

    public bool TraceHash { get; init; }

    /// <summary>Crashes may also damage a synced sector of the victim's disk (the storage must refuse, then it is rebuilt).</summary>
    public bool CorruptSectors { get; init; }

    public int TickMs { get; init; } = 10;

    public int NetworkDelayMsMax { get; init; } = 12;

    public double MessageLossProbability { get; init; } = 0.05;

    /// <summary>
    /// Under faults, a message is now and then held far longer than <see cref="NetworkDelayMsMax"/>: long enough to
    /// outlive an election, a restart or a rebuild (issue 13: no message outlived any of them, so the simulator
    /// missed schedules that need one).
    /// </summary>
    public double LongDelayProbability { get; init; } = 0.01;

    /// <summary>The longest such hold.</summary>
    public int LongDelayMsMax { get; init; } = 3_000;

    /// <summary>
    /// A message sent across a partition is held until some time later (a link's queue flushed when it comes back)
    /// with this probability, instead of being dropped.
    /// </summary>
    public double HeldAcrossPartitionProbability { get; init; } = 0.2;

    public double MessageDuplicateProbability { get; init; } = 0.03;

    public int FsyncDelayMsMax { get; init; } = 15;

    public int ClientTimeoutMs { get; init; } = 400;

    /// <summary>Attempts per operation under faults before the client gives up (outcome unknown).</summary>
    public int ClientAttemptsMax { get; init; } = 3;

    /// <summary>After healing, an operation that has not completed within this long is a liveness failure.</summary>
    public int LivenessDeadlineMs { get; init; } = 15_000;

    /// <summary>Mean gap between injected faults (crash, partition) during the safety phase.</summary>
    public int FaultGapMsMean { get; init; } = 300;

    /// <summary>Every replica takes a snapshot and compacts its log every this many applied slots.</summary>
    public int SnapshotEverySlots { get; init; } = 25;

    /// <summary>
    /// Client sessions each replica's state machine keeps (KvLimits.SessionsMaxDefault in the server). Close to the
    /// number of clients, so that registrations evict sessions and expiry is exercised in every run.
    /// </summary>
    public int SessionsMax { get; init; } = 6;

    /// <summary>Probability that a client forgets its client id before a write, as a restarted process does, and registers a new one.</summary>
    public double ClientRestartProbability { get; init; } = 0.1;

    /// <summary>Upper bound on simulated time, so a broken run cannot spin forever.</summary>
    public long RunMsMax { get; init; } = 600_000;

    public void Validate()
    {
        if (Replicas < 1 || Replicas > ReplicaOptions.ReplicasMax)
        {
            throw new ArgumentException($"--replicas {Replicas} is out of range: use 1 to {ReplicaOptions.ReplicasMax}.");
        }

        if (Ops < 1)
        {
            throw new ArgumentException($"--ops {Ops} must be at least 1.");
        }

        if (Clients < 1 || Keys < 1)
        {
            throw new ArgumentException("A run needs at least one client and one key.");
        }

        if (SessionsMax < 1)
        {
            throw new ArgumentException($"SessionsMax {SessionsMax} must be at least 1, or no client could be served exactly once.");
        }

        if (ClientRestartProbability is < 0 or > 1)
        {
            throw new ArgumentException($"ClientRestartProbability {ClientRestartProbability} must be within 0..1.");
        }
    }
}
