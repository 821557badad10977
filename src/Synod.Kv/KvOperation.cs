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

    /// <summary>
    /// Grants a lease (<see cref="KvCommand.LeaseId"/> from its value's first 8 bytes, the TTL in seconds from the next 8):
    /// <see cref="KvStatus.LeaseExists"/> if the id is taken. The client picks the id, so a retry is the same command.
    /// </summary>
    LeaseGrant = 6,

    /// <summary>Ends a lease (its id in the value, 8 bytes): every key attached to it is deleted, all at one revision.</summary>
    LeaseRevoke = 7,

    /// <summary>
    /// Ends a lease whose TTL ran out, as its leader measured it: the value holds the lease id and the ballot the leader
    /// proposed it under, and it takes effect only if that ballot is the last <see cref="LeaderEpoch"/> applied. Proposed
    /// by a leader, with client id 0 and sequence 0; no session.
    /// </summary>
    LeaseExpire = 8,

    /// <summary>
    /// A new leader's first word on leases: from here on, only its expiries count (<see cref="KvStateMachine.LeaseEpoch"/>).
    /// Proposed by a leader, with client id 0 and sequence 0; no session.
    /// </summary>
    LeaderEpoch = 9,

    /// <summary>
    /// A change to users, roles or authentication (<see cref="KvAuthChange"/>, encoded as the value; no key). It takes no
    /// revision. While authentication is on only a root user's change applies.
    /// </summary>
    Auth = 10,
}
