namespace Synod.Core.Messages;

/// <summary>The leader's notice that every slot up to CommitIndex is chosen, sent as soon as the index moves.</summary>
public sealed record Commit(int From, int To, Ballot Ballot, long CommitIndex) : Message(From, To);
