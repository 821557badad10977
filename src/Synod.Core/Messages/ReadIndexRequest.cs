namespace Synod.Core.Messages;

/// <summary>A follower asks the leader for a read index on behalf of one of its reads.</summary>
public sealed record ReadIndexRequest(int From, int To, long ReadId) : Message(From, To);
