using Synod.Core;

namespace Synod.Explorer;

/// <summary>
/// One exploration's budget and fault vocabulary. Every limit is named with its unit last; <see cref="Validate"/>
/// rejects a bad one with a sentence naming the setting.
/// </summary>
public sealed record ExplorerOptions
{
    /// <summary>The largest cluster explored; beyond five the state space is out of reach of any budget that ends.</summary>
    public const int ReplicasMax = 5;

    public int Replicas { get; init; } = 3;

    /// <summary>Client commands proposed in one schedule, each a put of its own value: the slots that can hold values.</summary>
    public int Slots { get; init; } = 2;

    /// <summary>Steps in one schedule.</summary>
    public int DepthMax { get; init; } = 12;

    /// <summary>Distinct states (BFS, DFS, iterative deepening: per round) or steps (random walk) before the search stops.</summary>
    public long StatesMax { get; init; } = 200_000;

    public ExplorerFaults Faults { get; init; } = ExplorerFaults.None;

    public ProtocolBugs Bugs { get; init; } = ProtocolBugs.None;

    public SearchStrategy Strategy { get; init; } = SearchStrategy.Bfs;

    /// <summary>Seed of the random walk; the exhaustive strategies use none.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Whether messages on one link (sender to receiver) may overtake each other. Off by default: peers talk over one
    /// ordered stream per link (Synod.Server's PeerLink), so only the head of each link is deliverable, and a message
    /// delayed holds back those behind it; drop lets a head go. On, every message in flight is deliverable at any time.
    /// </summary>
    public bool ReorderWithinLink { get; init; }

    public int CrashesMax { get; init; } = 1;

    public int DiskLossesMax { get; init; } = 1;

    public int SnapshotsMax { get; init; } = 1;

    public int DropsMax { get; init; } = 2;

    public int DuplicatesMax { get; init; } = 1;

    /// <summary>Distinct messages in flight; a step that would leave more ends its schedule (counted, not explored).</summary>
    public int InFlightMessagesMax { get; init; } = 24;

    /// <summary>Ticks one Timeout step may take before it gives up waiting for the replica to act.</summary>
    public int TimeoutTicksMax { get; init; } = 64;

    /// <summary>The cores' heartbeat interval: the smallest the core accepts, so that few ticks stand for a lot of time.</summary>
    public int HeartbeatIntervalTicks { get; init; } = 1;

    /// <summary>The cores' election timeout: the smallest above twice the heartbeat interval.</summary>
    public int ElectionTimeoutTicks { get; init; } = 3;

    /// <summary>The cores' retransmit interval (accepts, voter queries, catch-up).</summary>
    public int RetransmitTicks { get; init; } = 2;

    /// <summary>The cores' wait for a leader before a queued client command is dropped (the server's request timeout).</summary>
    public int ProposalWaitTicks { get; init; } = 12;

    /// <summary>
    /// Ages of ticks (clock minus a recorded tick) beyond this are hashed alike: it exceeds every timeout the core compares
    /// an age with (a candidate's, twice the election timeout; retransmits; heartbeats; the proposal wait).
    /// </summary>
    public long TickHorizonTicks => Math.Max(Math.Max(2 * ElectionTimeoutTicks, ProposalWaitTicks), Math.Max(RetransmitTicks, HeartbeatIntervalTicks)) + 1;

    /// <summary>Largest-id preference is a liveness aid; with no stagger every replica may stand first.</summary>
    public int ElectionStaggerTicks { get; init; }

    /// <summary>Interrupted-election search: episodes of the other replicas between the interruption and the reconnections.</summary>
    public int EpisodesMax { get; init; } = 3;

    /// <summary>Interrupted-election search: reconnections of a peer with the interrupted candidate, after the episodes.</summary>
    public int ReconnectsMax { get; init; } = 2;

    /// <summary>Interrupted-election search: ticks the replicas taking part in an episode run together after its fault or command.</summary>
    public int SettleTicks { get; init; } = 24;

    /// <summary>Interrupted-election search: the interruptions it starts from.</summary>
    public InterruptionShapes Interruptions { get; init; } = InterruptionShapes.Canonical;

    /// <summary>Interrupted-election search: the episodes it tries, and whether a reconnection may skip the wait for the peer's leader to fall silent.</summary>
    public EpisodeMenu Episodes { get; init; } = EpisodeMenu.LoseDisk | EpisodeMenu.Write | EpisodeMenu.Snapshot;

    /// <summary>
    /// The defaults of the interrupted-election search: five replicas (neither finding has a schedule on fewer, docs/protocol.md),
    /// two commands (the candidate's and one written meanwhile), two disk losses, the server's one-tick stagger per larger live
    /// replica (so that a settling group elects its largest live member and nobody else stands: without it every member times
    /// out at once and the losers' Prepares would outlive the episode), and no bound on messages in flight (the candidate's
    /// messages and those addressed to it pile up by design).
    /// </summary>
    public static ExplorerOptions InterruptedElection { get; } = new()
    {
        Strategy = SearchStrategy.InterruptedElection,
        Replicas = 5,
        Slots = 2,
        DiskLossesMax = 2,
        CrashesMax = 1,
        SnapshotsMax = 1,
        ElectionStaggerTicks = 1,
        InFlightMessagesMax = InFlightMessagesUnbounded,
        StatesMax = 2_000_000,
    };

    /// <summary>InFlightMessagesMax for searches that keep messages in flight on purpose: more than any schedule of theirs holds.</summary>
    public const int InFlightMessagesUnbounded = 100_000;

    public void Validate()
    {
        Require(Replicas >= 1 && Replicas <= ReplicasMax, $"--replicas {Replicas} is out of range: the explorer takes 1 to {ReplicasMax}.");
        Require(Slots >= 0, "--slots must not be negative.");
        Require(DepthMax >= 1, "--depth must be at least 1.");
        Require(StatesMax >= 1, "--states-max must be at least 1.");
        Require(CrashesMax >= 0 && DiskLossesMax >= 0 && SnapshotsMax >= 0 && DropsMax >= 0 && DuplicatesMax >= 0,
            "fault budgets (CrashesMax, DiskLossesMax, SnapshotsMax, DropsMax, DuplicatesMax) must not be negative.");
        Require(InFlightMessagesMax >= 1, "InFlightMessagesMax must be at least 1.");
        Require(TimeoutTicksMax >= ElectionTimeoutTicks * 4,
            $"TimeoutTicksMax ({TimeoutTicksMax}) must be at least four election timeouts ({ElectionTimeoutTicks * 4}), or a candidate's own timeout never fires within one Timeout step.");
        CoreOptions(1).Validate();
        if (Strategy == SearchStrategy.InterruptedElection)
        {
            Require(Replicas >= 3, $"--replicas {Replicas}: the interrupted-election search needs at least 3 replicas (a candidate and a quorum of others).");
            Require(EpisodesMax >= 0 && ReconnectsMax >= 0, "--episodes-max and --reconnects-max must not be negative.");
            Require(SettleTicks >= 4 * ElectionTimeoutTicks,
                $"--settle-ticks {SettleTicks} must be at least four election timeouts ({4 * ElectionTimeoutTicks}), or an episode may end before its election or rebuild does.");
            Require(ElectionStaggerTicks >= 1,
                "ElectionStaggerTicks must be at least 1 for the interrupted-election search: without it every member of a settling group stands at once, and the losers' Prepares outlive the episode.");
        }
    }

    /// <summary>The options of replica <paramref name="id"/>'s core. Jitter is 1 (no randomness), so the state hash may ignore the random source.</summary>
    public ReplicaOptions CoreOptions(int id) => new()
    {
        Id = id,
        Members = [.. Enumerable.Range(1, Replicas)],
        HeartbeatIntervalTicks = HeartbeatIntervalTicks,
        ElectionTimeoutTicks = ElectionTimeoutTicks,
        ElectionStaggerTicks = ElectionStaggerTicks,
        ElectionJitterTicks = 1,
        RetransmitTicks = RetransmitTicks,
        ProposalWaitTicksMax = ProposalWaitTicks,
        Bugs = Bugs,
    };

    private static void Require(bool condition, string sentence)
    {
        if (!condition)
        {
            throw new ArgumentException(sentence);
        }
    }
}
