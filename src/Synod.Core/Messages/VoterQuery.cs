namespace Synod.Core.Messages;

/// <summary>
/// A rebuilding replica asks a voting peer first (Incarnation 0) which life of it the peer knows of, then, in its new
/// life Incarnation, for the highest ballot the peer has promised; the peer records the new life durably before it
/// answers. Round numbers the question (never reused by the asker, <see cref="Persistence.QueryRoundOp"/>); the answer
/// echoes it, so the asker knows the answer was written after that round began (docs/protocol.md, confirmation round).
/// </summary>
public sealed record VoterQuery(int From, int To, long Incarnation = 0, long Round = 0) : Message(From, To);
