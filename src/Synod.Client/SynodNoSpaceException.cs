namespace Synod.Client;

/// <summary>
/// The write would take the cluster's keys and values past its write quota (RESOURCE_EXHAUSTED, "database space
/// exceeded"): never retried, since the replicas hold the same data. The write was not applied, unless
/// <see cref="OutcomeUnknown"/> (an earlier attempt went unanswered and may still take effect). Delete keys, or raise the
/// quota (serve --quota-bytes) on every replica; deletes and writes that do not grow the data are still served.
/// </summary>
public sealed class SynodNoSpaceException : SynodException
{
    public SynodNoSpaceException(string message, bool outcomeUnknown = false, Exception? innerException = null)
        : base(message, innerException)
    {
        OutcomeUnknown = outcomeUnknown;
    }

    /// <summary>An earlier attempt of the write went unanswered: it may still take effect although this one was refused.</summary>
    public bool OutcomeUnknown { get; }
}
