namespace Synod.Core.Messages;

/// <summary>A learner that missed chosen slots asks a peer for them, starting at FromSlot.</summary>
public sealed record CatchUpRequest(int From, int To, long FromSlot) : Message(From, To);
