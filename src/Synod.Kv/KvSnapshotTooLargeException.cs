namespace Synod.Kv;

/// <summary>
/// A snapshot of the state would be larger than the limit it was asked for (or than one array can hold): found before
/// anything was allocated, so the state can be measured again cheaply later.
/// </summary>
public sealed class KvSnapshotTooLargeException : Exception
{
    public KvSnapshotTooLargeException(long bytes, long limit)
        : base($"The snapshot would be {bytes} bytes, over the {limit} bytes it may have.")
    {
        Bytes = bytes;
        Limit = limit;
    }

    public KvSnapshotTooLargeException()
    {
    }

    public KvSnapshotTooLargeException(string message)
        : base(message)
    {
    }

    public KvSnapshotTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The bytes the snapshot would have had, its prefix included.</summary>
    public long Bytes { get; }

    /// <summary>The most it could have.</summary>
    public long Limit { get; }
}
