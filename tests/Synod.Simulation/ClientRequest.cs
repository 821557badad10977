using Synod.Checker;

namespace Synod.Simulation;

/// <summary>
/// A simulated client's request to a replica. Attempt tells a late reply from a current one. A registration
/// (<paramref name="Register"/>) carries its nonce as <paramref name="Sequence"/> and client id 0; Kind, Key and Value
/// are then those of the write it is for. A compare-and-swap (<see cref="OperationKind.Cas"/>) writes Value only if
/// the key holds <paramref name="Expect"/> (null: only if absent). A <paramref name="Range"/> read (Kind Get) reads
/// every key that begins with <paramref name="Key"/>. A bank operation (<paramref name="Txn"/>, a write) is a
/// transaction on the accounts; it is judged by the bank's invariant, not by the register checker. A range read with
/// <see cref="AtRevision"/> reads the keys as they were at that revision.
/// </summary>
public sealed record ClientRequest(
    int Client, long Attempt, ulong ClientId, ulong Sequence, OperationKind Kind, string Key, string? Value, bool Register = false, string? Expect = null,
    bool Range = false, Synod.Kv.KvTxn? Txn = null)
{
    /// <summary>For a read (of a key or a range), the revision to read at; 0: now.</summary>
    public long AtRevision { get; init; }

    /// <summary>For a compact command (a write, Kind Put), the revision to compact to; 0 for every other request.</summary>
    public long CompactTo { get; init; }

    /// <summary>In a run with authentication, a change to users, roles or authentication (a write, Kind Put); null otherwise.</summary>
    public Synod.Kv.KvAuthChange? AuthChange { get; init; }

    /// <summary>In a run with authentication, the user the write is made as ("" for none).</summary>
    public string User { get; init; } = "";

    /// <summary>
    /// For a trespass (a put of LimitedUser's attaching its key to a lease holder's lease, in a run upgraded from the build
    /// before lease owners), the lease; 0 for every other request.
    /// </summary>
    public long Lease { get; init; }

    /// <summary>A bank transaction, a compaction, an auth change or a trespass: a write judged by its own checks, not by the register checker.</summary>
    public bool IsSideOperation => Txn is not null || CompactTo != 0 || AuthChange is not null || Lease != 0;
}
