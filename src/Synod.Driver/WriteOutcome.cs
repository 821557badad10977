using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// The applied result of a write, as the replica contacted saw it applied: <paramref name="Revision"/> and
/// <paramref name="Entry"/> as <see cref="AppliedCommand"/> gives them.
/// </summary>
public sealed record WriteOutcome(
    KvStatus Status, long Slot, bool Duplicate, ulong RegisteredClientId = 0, long Revision = 0, KvEntry? Entry = null, KvTxnResult? Txn = null);
