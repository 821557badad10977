namespace Synod.Storage;

/// <summary>
/// The storage refuses to open or to write: the message is one sentence for the operator naming the file (and the
/// offset, for damage) and saying what to do.
/// </summary>
public sealed class StorageException : Exception
{
    public StorageException(string message)
        : base(message)
    {
    }

    public StorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
