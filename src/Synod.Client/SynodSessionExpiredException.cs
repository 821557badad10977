namespace Synod.Client;

/// <summary>
/// The replicas refused a write because the client id's session is gone (FAILED_PRECONDITION: the session was
/// evicted, or a sequence was older than one applied). This command was not applied; the client has already
/// dropped that client id and uses a fresh one for the next write. <see cref="OutcomeUnknown"/> is true only when
/// an earlier attempt of the same write went unanswered and may have been applied before the session vanished.
/// </summary>
public sealed class SynodSessionExpiredException : SynodException
{
    public SynodSessionExpiredException(string message, bool outcomeUnknown, Exception? innerException = null)
        : base(message, innerException)
    {
        OutcomeUnknown = outcomeUnknown;
    }

    public bool OutcomeUnknown { get; }
}
