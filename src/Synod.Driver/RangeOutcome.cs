using Synod.Kv;

namespace Synod.Driver;

/// <summary>A range read's answer: the keys found, and the revision and slot applied when read, and how far behind that may be.</summary>
public sealed record RangeOutcome(KvRangeResult Result, long Revision, long AppliedSlot, long LagSlots);
