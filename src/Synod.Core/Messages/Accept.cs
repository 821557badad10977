namespace Synod.Core.Messages;

/// <summary>Phase 2a: "accept this batch in Slot at Ballot". Carries the leader's commit index so followers learn without waiting.</summary>
public sealed record Accept(int From, int To, Ballot Ballot, long Slot, byte[][] Commands, long CommitIndex) : Message(From, To);
