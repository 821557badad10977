namespace Synod.Server;

/// <summary>
/// The write would grow the data and this replica lags too far to judge the write quota (ReplicaFailure.CatchingUp);
/// nothing was proposed.
/// </summary>
public sealed class CatchingUpException : Exception
{
    public CatchingUpException()
        : base("it lags what it knows chosen too far to judge the write quota for a write that grows the data")
    {
    }

    public CatchingUpException(string message)
        : base(message)
    {
    }

    public CatchingUpException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
