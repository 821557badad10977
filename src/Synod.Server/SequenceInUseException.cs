namespace Synod.Server;

/// <summary>Another write under the same client id and sequence waits at this replica (ReplicaFailure.SequenceInUse).</summary>
public sealed class SequenceInUseException : Exception
{
    public SequenceInUseException()
        : base("another write under this client id and sequence waits at this replica; a retry must be the same write, and a new write needs the next sequence")
    {
    }

    public SequenceInUseException(string message)
        : base(message)
    {
    }

    public SequenceInUseException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
