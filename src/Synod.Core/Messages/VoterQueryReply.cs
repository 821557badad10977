namespace Synod.Core.Messages;

/// <summary>A voting replica's answer to <see cref="VoterQuery"/>: the highest ballot it has promised.</summary>
public sealed record VoterQueryReply(int From, int To, Ballot Promised) : Message(From, To);
