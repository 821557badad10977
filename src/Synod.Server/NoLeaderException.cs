namespace Synod.Server;

/// <summary>The replica knows no leader to confirm a read (an election is under way, or no quorum is reachable).</summary>
public sealed class NoLeaderException : Exception
{
    public NoLeaderException()
        : base("no leader is known to this replica (an election is under way, or no quorum is reachable)")
    {
    }

    public NoLeaderException(string message)
        : base(message)
    {
    }

    public NoLeaderException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
