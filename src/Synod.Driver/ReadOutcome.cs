using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// A read's answer: the key's entry (null when absent), the revision and slot applied when read, and how far behind
/// that may be.
/// </summary>
/// <param name="Refused">Why a read at a past revision could not be served (then Entry is null); null when it was.</param>
public sealed record ReadOutcome(KvEntry? Entry, long Revision, long AppliedSlot, long LagSlots, RevisionRefusal? Refused = null)
{
    /// <summary>The value, or null when the key is absent.</summary>
    public ReadOnlyMemory<byte>? Value => Entry?.Value;
}
