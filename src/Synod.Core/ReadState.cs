namespace Synod.Core;

/// <summary>Read ReadId may be served locally once the state machine has applied up to Index.</summary>
public readonly record struct ReadState(long ReadId, long Index);
