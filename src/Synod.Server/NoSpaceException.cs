namespace Synod.Server;

/// <summary>The write would take the keys and values past the write quota (ReplicaFailure.NoSpace); nothing was proposed.</summary>
public sealed class NoSpaceException : Exception
{
    public NoSpaceException()
        : base("the write would take the keys and values past the write quota")
    {
    }

    public NoSpaceException(string message)
        : base(message)
    {
    }

    public NoSpaceException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
