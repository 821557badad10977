namespace Synod.Explorer;

/// <summary>
/// One coarse step of the interrupted-election search (<see cref="InterruptedElectionSearch"/>): the steps that interrupt an
/// election, the episodes the other replicas live through meanwhile, and the reconnections that let its messages land.
/// </summary>
public enum EpisodeKind
{
    /// <summary>A client command arrives at the replica.</summary>
    Propose,

    /// <summary>The replica's time passes, alone, until it asks for pre-votes.</summary>
    AskPreVotes,

    /// <summary>The candidate's time passes, alone, until its candidacy times out and it stands again at a higher ballot.</summary>
    StandAgain,

    /// <summary>What is in flight from the replica to Other is delivered, in order; the answers stay in flight.</summary>
    DeliverLink,

    /// <summary>The replica loses its disk and restarts rebuilding; then every replica but the candidate runs.</summary>
    LoseDisk,

    /// <summary>The replica crashes and restarts from its disk; then every replica but the candidate runs.</summary>
    Crash,

    /// <summary>A client command arrives; every replica but the candidate and Other (none if 0) runs.</summary>
    Write,

    /// <summary>Every replica but the candidate and Other (none if 0) runs.</summary>
    Run,

    /// <summary>The replica snapshots its state machine at its applied slot.</summary>
    Snapshot,

    /// <summary>The replica's time passes, alone, until it asks for pre-votes (it no longer hears a leader); then it and the candidate exchange what is in flight between them.</summary>
    Reconnect,

    /// <summary>The replica and the candidate exchange what is in flight between them, at once.</summary>
    Exchange,
}
