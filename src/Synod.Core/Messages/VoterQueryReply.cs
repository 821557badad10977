namespace Synod.Core.Messages;

/// <summary>
/// A voting replica's answer to <see cref="VoterQuery"/>: the highest ballot it has promised, the latest life of the
/// asker it knows of, and the life the query was asked in (0 for the first question).
/// </summary>
public sealed record VoterQueryReply(
    int From, int To, Ballot Promised, long KnownIncarnation = 0, long Incarnation = 0, IReadOnlyDictionary<int, long>? KnownIncarnations = null) : Message(From, To);
