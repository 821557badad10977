namespace Synod.Core.Messages;

/// <summary>
/// A rebuilding replica asks a voting peer first (Incarnation 0) which life of it the peer knows of, then, in its new
/// life Incarnation, for the highest ballot the peer has promised; the peer records the new life durably before it answers.
/// </summary>
public sealed record VoterQuery(int From, int To, long Incarnation = 0) : Message(From, To);
