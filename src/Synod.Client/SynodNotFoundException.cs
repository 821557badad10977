namespace Synod.Client;

/// <summary>A Get found no value for the key (NOT_FOUND).</summary>
public sealed class SynodNotFoundException : SynodException
{
    public SynodNotFoundException(ReadOnlyMemory<byte> key, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Key = key.ToArray();
    }

    /// <summary>The key that was looked up.</summary>
    public byte[] Key { get; }
}
