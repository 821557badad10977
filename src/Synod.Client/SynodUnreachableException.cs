namespace Synod.Client;

/// <summary>
/// No replica asked could be connected at all (connection refused, host unknown or unreachable), or the pinned
/// replica could not be. Nothing reached a replica, so a write was not applied.
/// </summary>
public sealed class SynodUnreachableException : SynodUnavailableException
{
    public SynodUnreachableException(string message, FailureSummary summary, Exception? innerException = null)
        : base(message, summary, innerException)
    {
    }
}
