namespace Synod.Driver;

/// <summary>A read's answer: the value (null when absent), the slot applied when read, and how far behind that may be.</summary>
public sealed record ReadOutcome(byte[]? Value, long AppliedSlot, long LagSlots);
