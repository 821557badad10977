namespace Synod.Client;

/// <summary>
/// The write would take the cluster's keys and values past its write quota (RESOURCE_EXHAUSTED, "database space
/// exceeded"): never retried, since every replica holds the same data. The write was not applied, unless the message
/// says that an earlier attempt's outcome is unknown. Delete keys, or raise the quota (serve --quota-bytes) on every
/// replica; deletes and puts that do not grow the data are still served.
/// </summary>
public sealed class SynodNoSpaceException : SynodException
{
    public SynodNoSpaceException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
