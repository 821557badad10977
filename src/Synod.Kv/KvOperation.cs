namespace Synod.Kv;

/// <summary>What a <see cref="KvCommand"/> does. The numeric values are part of the wire encoding.</summary>
public enum KvOperation : byte
{
    /// <summary>Sets the key to the value, creating the key if needed.</summary>
    Put = 1,

    /// <summary>Removes the key; answered with <see cref="KvStatus.NotFound"/> if it did not exist.</summary>
    Delete = 2,

    /// <summary>
    /// Assigns the next client id and opens its session (<see cref="KvStateMachine.LastClientId"/>). Carries client id 0,
    /// the caller's nonce as its sequence (so that the replica that proposed it can tell whose answer it is), and no key
    /// or value. Registering twice only spends an id, so a registration is safe to retry; a write is not, which is why a
    /// write never opens a session.
    /// </summary>
    Register = 3,

    /// <summary>A transaction (<see cref="KvCommand.Txn"/>): compares, then the success or the failure operations, at one revision.</summary>
    Txn = 4,

    /// <summary>
    /// Moves the history's compaction point (<see cref="KvStateMachine.CompactRevision"/>) on to the revision its value
    /// carries (8 bytes, little-endian), and never back; no key, and it takes no revision of its own.
    /// </summary>
    Compact = 5,
}
