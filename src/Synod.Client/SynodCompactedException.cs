namespace Synod.Client;

/// <summary>
/// A read or watch asked for a revision before the oldest one the replicas keep (OUT_OF_RANGE): it has been compacted.
/// <see cref="CompactRevision"/> is the oldest revision that may be asked for now.
/// </summary>
public sealed class SynodCompactedException : SynodException
{
    public SynodCompactedException(long compactRevision, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        CompactRevision = compactRevision;
    }

    /// <summary>The oldest revision kept when the replica answered (0 if it did not say).</summary>
    public long CompactRevision { get; }
}
