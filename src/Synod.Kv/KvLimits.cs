namespace Synod.Kv;

/// <summary>
/// The limits of the key-value state machine. Every replica must use the same values, because a command
/// that one replica accepts and another rejects would make their states diverge.
/// </summary>
public static class KvLimits
{
    /// <summary>The longest key, in bytes (1 KiB); defined with the client's copy of the rules (Shared/RequestRules.cs).</summary>
    public const int KeyBytesMax = RequestRules.KeyBytesMax;

    /// <summary>The longest value, in bytes (1 MiB); defined with the client's copy of the rules (Shared/RequestRules.cs).</summary>
    public const int ValueBytesMax = RequestRules.ValueBytesMax;

    /// <summary>How many client sessions are kept for exactly-once retries unless configured otherwise.</summary>
    public const int SessionsMaxDefault = 10_000;

    /// <summary>The most compares, and operations per branch, of one transaction (128); defined with the client's copy of the rules.</summary>
    public const int TxnOpsMax = RequestRules.TxnOpsMax;

    /// <summary>The most key and value bytes of one transaction (as much as the largest put); defined with the client's copy.</summary>
    public const int TxnBytesMax = RequestRules.TxnBytesMax;

    /// <summary>The most keys one range read returns (10,000); defined with the client's copy of the rules.</summary>
    public const int RangeKeysMax = RequestRules.RangeKeysMax;

    /// <summary>The most bytes one range read returns (4 MiB, with <see cref="RequestRules.RangeEntryOverheadBytes"/> per key); defined with the client's copy.</summary>
    public const int RangeBytesMax = RequestRules.RangeBytesMax;

    /// <summary>The most leases live at once (1,000,000); a grant beyond it is refused with <see cref="KvStatus.LeasesFull"/>.</summary>
    public const int LeasesMax = 1_000_000;

    /// <summary>
    /// The most keys one lease holds (10,000, as many as one range answer): a lease's end deletes them all at one
    /// revision, in one step of every replica and one revision of the history, so it must be bounded like a transaction.
    /// </summary>
    public const int LeaseKeysMax = 10_000;

    /// <summary>The largest lease id (2^53); defined with the client's copy of the rules.</summary>
    public const long LeaseIdMax = RequestRules.LeaseIdMax;

    /// <summary>The longest TTL a lease may be granted, in seconds; defined with the client's copy of the rules.</summary>
    public const long LeaseTtlSecondsMax = RequestRules.LeaseTtlSecondsMax;

    /// <summary>The most users (1,000): every replica keeps them all in memory and in every snapshot.</summary>
    public const int UsersMax = 1_000;

    /// <summary>The most roles (1,000), the built-in root role not counted.</summary>
    public const int RolesMax = 1_000;

    /// <summary>The most roles one user holds (100): every request of the user looks through them.</summary>
    public const int RolesPerUserMax = 100;

    /// <summary>The most permissions one role holds (1,000).</summary>
    public const int PermissionsPerRoleMax = 1_000;

    /// <summary>The most permissions of all roles together (10,000): with the other auth limits, the auth state stays under 64 MiB.</summary>
    public const int PermissionsMax = 10_000;

    /// <summary>The sentence saying what is wrong with a lease id, or null if it lies in 1..<see cref="LeaseIdMax"/>.</summary>
    public static string? LeaseIdProblem(long id) => RequestRules.LeaseIdProblem(id);
}
