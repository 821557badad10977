namespace Synod.Core.Messages;

/// <summary>A rebuilding replica asks a peer for the highest ballot it has promised (the floor of its own lost promises).</summary>
public sealed record VoterQuery(int From, int To) : Message(From, To);
