using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// A read's answer: the key's entry (null when absent), the revision and slot applied when read, and how far behind
/// that may be.
/// </summary>
public sealed record ReadOutcome(KvEntry? Entry, long Revision, long AppliedSlot, long LagSlots)
{
    /// <summary>The value, or null when the key is absent.</summary>
    public byte[]? Value => Entry?.Value;
}
