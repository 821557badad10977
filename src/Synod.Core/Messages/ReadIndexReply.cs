namespace Synod.Core.Messages;

/// <summary>The leader's answer: once the follower has applied up to Index, it may serve read ReadId locally.</summary>
public sealed record ReadIndexReply(int From, int To, long ReadId, long Index) : Message(From, To);
