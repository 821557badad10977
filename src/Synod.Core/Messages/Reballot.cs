namespace Synod.Core.Messages;

/// <summary>
/// A rebuilding replica asks the leader to run phase 1 again at a ballot above <paramref name="Above"/>, so that a
/// leadership it can safely vote in exists.
/// </summary>
public sealed record Reballot(int From, int To, Ballot Above) : Message(From, To);
