namespace Synod.Core.Messages;

/// <summary>Phase 2b: the acceptor accepted Slot at Ballot (durably, before this was sent).</summary>
public sealed record Accepted(int From, int To, Ballot Ballot, long Slot) : Message(From, To);
