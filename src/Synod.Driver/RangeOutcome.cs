using Synod.Kv;

namespace Synod.Driver;

/// <summary>A range read's answer: the keys found, and the revision and slot applied when read, and how far behind that may be.</summary>
/// <param name="Refused">Why a read at a past revision could not be served (then Result is empty); null when it was.</param>
public sealed record RangeOutcome(KvRangeResult Result, long Revision, long AppliedSlot, long LagSlots, RevisionRefusal? Refused = null);
