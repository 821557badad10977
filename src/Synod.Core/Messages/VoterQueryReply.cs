namespace Synod.Core.Messages;

/// <summary>
/// A voting replica's answer to <see cref="VoterQuery"/>: the highest ballot it has promised, the latest life of the
/// asker it knows of, the life the query was asked in (0 for the first question), every life it knows, the query's
/// round echoed, and its own life (Life): an answer counts only if the voter was in the same life when it answered
/// a round that began after its first answer arrived (docs/protocol.md, confirmation round).
/// </summary>
public sealed record VoterQueryReply(
    int From,
    int To,
    Ballot Promised,
    long KnownIncarnation = 0,
    long Incarnation = 0,
    IReadOnlyDictionary<int, long>? KnownIncarnations = null,
    long Round = 0,
    long Life = 0) : Message(From, To);
