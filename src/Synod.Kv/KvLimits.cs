namespace Synod.Kv;

/// <summary>
/// The limits of the key-value state machine. Every replica must use the same values, because a command
/// that one replica accepts and another rejects would make their states diverge.
/// </summary>
public static class KvLimits
{
    /// <summary>The longest key, in bytes (1 KiB).</summary>
    public const int KeyBytesMax = 1024;

    /// <summary>The longest value, in bytes (1 MiB).</summary>
    public const int ValueBytesMax = 1024 * 1024;

    /// <summary>How many client sessions are kept for exactly-once retries unless configured otherwise.</summary>
    public const int SessionsMaxDefault = 10_000;
}
