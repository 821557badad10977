namespace Synod.Kv;

/// <summary>
/// Bytes that should hold a <see cref="KvCommand"/> or a snapshot do not: truncated, of an unknown version,
/// over a limit, or failing their checksum. The message says which.
/// </summary>
public sealed class KvFormatException : Exception
{
    public KvFormatException(string message)
        : base(message)
    {
    }

    public KvFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
