namespace Synod.Core.Messages;

/// <summary>One slot as an acceptor reports it in a promise: the value it last accepted and at which ballot, or a value it knows chosen.</summary>
public readonly record struct PromisedEntry(long Slot, Ballot Ballot, byte[][] Commands, bool Chosen);
