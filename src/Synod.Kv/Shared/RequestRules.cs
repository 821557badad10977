// One definition, compiled into two assemblies: Synod.Kv (the state machine's own check) and Synod.Client (checked
// before sending, so a bad request fails fast and reads the same as a replica's refusal), as an internal class in
// each. The client package therefore needs neither Synod.Kv nor anything else of the server.
#if SYNOD_CLIENT
namespace Synod.Client;
#else
namespace Synod.Kv;
#endif

/// <summary>What makes a key-value request valid, and the limits every replica and client share.</summary>
internal static class RequestRules
{
    /// <summary>The longest key, in bytes (1 KiB).</summary>
    public const int KeyBytesMax = 1024;

    /// <summary>The longest value, in bytes (1 MiB).</summary>
    public const int ValueBytesMax = 1024 * 1024;

    /// <summary>The most keys one range read returns (10,000); a larger range answers "more", to be read in pages.</summary>
    public const int RangeKeysMax = 10_000;

    /// <summary>
    /// The most bytes one range read returns (4 MiB), counting each key, its value and <see cref="RangeEntryOverheadBytes"/>;
    /// past it the range answers "more". The first key is returned whatever its size.
    /// </summary>
    public const int RangeBytesMax = 4 * 1024 * 1024;

    /// <summary>What a range counts for each key beyond its key and value bytes: the revisions and the framing.</summary>
    public const int RangeEntryOverheadBytes = 48;

    /// <summary>The largest range answer: <see cref="RangeBytesMax"/> and one largest key and value more.</summary>
    public const int RangeResponseBytesMax = RangeBytesMax + KeyBytesMax + ValueBytesMax + RangeEntryOverheadBytes;

    /// <summary>The wire numbers of the operations (KvOperation).</summary>
    public const byte Put = 1;
    public const byte Delete = 2;
    public const byte Register = 3;
    public const byte Txn = 4;
    public const byte Compact = 5;
    public const byte LeaseGrant = 6;
    public const byte LeaseRevoke = 7;
    public const byte LeaseExpire = 8;
    public const byte LeaderEpoch = 9;

    /// <summary>The largest lease id (2^53, the largest integer JSON keeps exact); ids are 1..this.</summary>
    public const long LeaseIdMax = 1L << 53;

    /// <summary>The longest TTL a lease may be granted, in seconds (9,000,000,000, as etcd's).</summary>
    public const long LeaseTtlSecondsMax = 9_000_000_000;

    /// <summary>The bytes of a grant's value: the lease id, then the TTL in seconds, each a little-endian 64-bit integer.</summary>
    public const int LeaseGrantValueBytes = 16;

    /// <summary>The bytes of a revoke's value: the lease id, a little-endian 64-bit integer.</summary>
    public const int LeaseRevokeValueBytes = 8;

    /// <summary>The bytes of a leader epoch's value: the ballot's round (8 bytes) and replica id (4 bytes), little-endian.</summary>
    public const int LeaderEpochValueBytes = 12;

    /// <summary>
    /// The bytes of an expiry's value: the lease id (8 bytes), the slot its grant was applied at (8 bytes: which grant of
    /// that id it ends), then the ballot it was proposed under (12 bytes).
    /// </summary>
    public const int LeaseExpireValueBytes = 16 + LeaderEpochValueBytes;

    /// <summary>The bytes of a compact command's value: the revision, as a little-endian 64-bit integer.</summary>
    public const int CompactValueBytes = 8;

    /// <summary>The largest revision a request may name (2^53, the largest integer JSON keeps exact).</summary>
    public const long RevisionMax = 1L << 53;

    /// <summary>The most compares, and the most operations in each branch, of one transaction (128, as etcd's default).</summary>
    public const int TxnOpsMax = 128;

    /// <summary>The most key and value bytes of one transaction in all: as much as the largest put carries.</summary>
    public const int TxnBytesMax = KeyBytesMax + ValueBytesMax;

    /// <summary>The wire numbers of the condition targets (KvCompareTarget).</summary>
    public const byte CompareValue = 4;

    /// <summary>The largest revision or version a condition may name (2^53, the largest integer JSON keeps exact).</summary>
    public const long CompareNumberMax = 1L << 53;

    /// <summary>The sentence saying what is wrong with a write's condition, or null if it is valid.</summary>
    /// <param name="writtenBytes">The write's own value bytes: the condition's value shares <see cref="ValueBytesMax"/> with them.</param>
    public static string? ConditionProblem(byte operation, byte target, long number, byte[]? value, int writtenBytes)
    {
        if (operation is not (Put or Delete))
        {
            return "Only a put or a delete may carry a condition.";
        }

        if (value is null)
        {
            return "The condition's value is missing (null); use an empty array for no value.";
        }

        return target == CompareValue
            ? number != 0 ? "A condition on the value compares bytes, and carries number 0."
                : value.Length + writtenBytes > ValueBytesMax
                    ? $"The value ({writtenBytes} bytes) and the condition's value ({value.Length} bytes) together are over ValueBytesMax ({ValueBytesMax} bytes), which they share."
                : null
            : number is < 0 or > CompareNumberMax ? $"A condition compares a version or revision with {number}; it must lie in 0..{CompareNumberMax}."
            : value.Length != 0 ? "A condition on a version or revision carries no value bytes."
            : null;
    }

    /// <summary>
    /// The first key after every key that begins with <paramref name="prefix"/>: the prefix with its last byte below
    /// 0xff raised by one and what follows it dropped; empty (no end) when there is none (etcd's rule).
    /// </summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (var index = prefix.Length - 1; index >= 0; index--)
        {
            if (prefix[index] != 0xff)
            {
                var end = prefix[..(index + 1)].ToArray();
                end[index]++;
                return end;
            }
        }

        return [];
    }

    /// <summary>The sentence saying what is wrong with a lease id, or null if it lies in 1..<see cref="LeaseIdMax"/>.</summary>
    public static string? LeaseIdProblem(long id) =>
        id is < 1 or > LeaseIdMax ? $"The lease id {id} is outside 1..{LeaseIdMax}." : null;

    /// <summary>The sentence saying what is wrong with a command, or null if it is valid.</summary>
    public static string? Problem(byte operation, ulong clientId, ulong sequence, byte[]? key, byte[]? value)
    {
        if (key is null)
        {
            return "The key is missing (null).";
        }

        return value is null ? "The value is missing (null); use an empty array for no value." : Problem(operation, clientId, sequence, key, value.AsSpan());
    }

    /// <summary>The sentence saying what is wrong with a command whose value is <paramref name="value"/>'s bytes, or null if it is valid.</summary>
    public static string? Problem(byte operation, ulong clientId, ulong sequence, byte[]? key, ReadOnlySpan<byte> value)
    {
        if (key is null)
        {
            return "The key is missing (null).";
        }

        if (operation == Register)
        {
            return clientId != 0 ? $"A Register carries client id 0, not {clientId}: the replicas assign the id."
                : sequence == 0 ? "A Register's nonce (its sequence) is 0; it must be non-zero."
                : key.Length != 0 || value.Length != 0 ? "A Register carries no key and no value."
                : null;
        }

        if (operation == Txn)
        {
            return sequence == 0 ? "The sequence is 0; sequences start at 1."
                : key.Length != 0 || value.Length != 0 ? "A transaction carries its keys and values in its operations, not as the command's key and value."
                : null;
        }

        if (operation is LeaseExpire or LeaderEpoch)
        {
            var bytes = operation == LeaseExpire ? LeaseExpireValueBytes : LeaderEpochValueBytes;
            return clientId != 0 || sequence != 0 ? "A leader epoch or lease expiry is proposed by a leader, with client id 0 and sequence 0."
                : key.Length != 0 ? "A leader epoch or lease expiry carries no key."
                : value.Length != bytes ? $"A {(operation == LeaseExpire ? "lease expiry" : "leader epoch")}'s value is {bytes} bytes, not {value.Length}."
                : operation == LeaseExpire && LeaseIdProblem(System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(value)) is { } idProblem ? idProblem
                : null;
        }

        if (operation is LeaseGrant or LeaseRevoke)
        {
            var bytes = operation == LeaseGrant ? LeaseGrantValueBytes : LeaseRevokeValueBytes;
            return sequence == 0 ? "The sequence is 0; sequences start at 1."
                : key.Length != 0 ? "A lease grant or revoke carries no key."
                : value.Length != bytes ? $"A lease {(operation == LeaseGrant ? "grant" : "revoke")}'s value is {bytes} bytes, not {value.Length}."
                : LeaseIdProblem(System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(value)) is { } idProblem ? idProblem
                : operation == LeaseGrant && System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(value[8..]) is var ttl && ttl is < 1 or > LeaseTtlSecondsMax
                    ? $"A lease's TTL is {ttl} seconds; it must lie in 1..{LeaseTtlSecondsMax}."
                : null;
        }

        if (operation == Compact)
        {
            return sequence == 0 ? "The sequence is 0; sequences start at 1."
                : key.Length != 0 ? "A compact command carries no key."
                : value.Length != CompactValueBytes ? $"A compact command's value is its revision in {CompactValueBytes} bytes, not {value.Length}."
                : System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(value) is var revision && revision is < 1 or > RevisionMax
                    ? $"A compact command names revision {revision}; it must lie in 1..{RevisionMax}."
                : null;
        }

        return sequence == 0 ? "The sequence is 0; sequences start at 1."
            : operation is not (Put or Delete) ? $"The operation {operation} is none of Put (1), Delete (2), Register (3), Txn (4), Compact (5), LeaseGrant (6), LeaseRevoke (7), LeaseExpire (8) or LeaderEpoch (9)."
            : key.Length == 0 ? "The key is empty; a key needs at least 1 byte."
            : key.Length > KeyBytesMax ? $"The key is {key.Length} bytes, over KeyBytesMax ({KeyBytesMax} bytes)."
            : value.Length > ValueBytesMax ? $"The value is {value.Length} bytes, over ValueBytesMax ({ValueBytesMax} bytes)."
            : operation == Delete && value.Length != 0 ? $"A Delete carries no value, but this one has {value.Length} bytes."
            : null;
    }
}
