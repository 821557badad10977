namespace Synod.Core;

/// <summary>
/// One slot in a replica's log, playing both acceptor and learner parts: the value last accepted and its
/// ballot (zero when the value was learned from a peer rather than accepted), and whether it is known chosen.
/// </summary>
internal sealed class LogEntry
{
    public LogEntry(Ballot acceptedBallot, byte[][] commands, bool chosen)
    {
        AcceptedBallot = acceptedBallot;
        Commands = commands;
        Chosen = chosen;
    }

    public Ballot AcceptedBallot { get; set; }

    public byte[][] Commands { get; set; }

    public bool Chosen { get; set; }
}
