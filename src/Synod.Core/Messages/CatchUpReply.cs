namespace Synod.Core.Messages;

/// <summary>Chosen slots (never merely accepted ones) and the sender's commit index.</summary>
public sealed record CatchUpReply(int From, int To, IReadOnlyList<ChosenEntry> Entries, long CommitIndex) : Message(From, To);
