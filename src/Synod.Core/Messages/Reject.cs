namespace Synod.Core.Messages;

/// <summary>A refusal of a prepare, accept or leader heartbeat at Ballot because the acceptor promised the higher Promised.</summary>
public sealed record Reject(int From, int To, Ballot Ballot, Ballot Promised) : Message(From, To);
