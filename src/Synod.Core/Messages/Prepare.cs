namespace Synod.Core.Messages;

/// <summary>Phase 1a: "promise me ballot B for every slot from FromSlot on, and tell me what you accepted there".</summary>
public sealed record Prepare(int From, int To, Ballot Ballot, long FromSlot) : Message(From, To);
