namespace Synod.Server;

/// <summary>A write's session is gone and an earlier copy of it may have been applied before it went (ReplicaFailure.WriteOutcomeUnknown).</summary>
public sealed class WriteOutcomeUnknownException : Exception
{
    public WriteOutcomeUnknownException()
        : base("session is gone, and this replica installed a snapshot while the write waited, so an earlier copy of the write may have been applied before the session went")
    {
    }

    public WriteOutcomeUnknownException(string message)
        : base(message)
    {
    }

    public WriteOutcomeUnknownException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
