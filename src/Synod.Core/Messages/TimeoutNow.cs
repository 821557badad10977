namespace Synod.Core.Messages;

/// <summary>
/// "Stand now": a leader at <paramref name="Ballot"/> hands its leadership to the replica it sends this to, which it saw
/// know every slot it had proposed chosen, up to <paramref name="CommitIndex"/> (Replica.Handover.cs). The target stands
/// only if it knows exactly those: a late copy, after the leader gave the handover up and chose more, is ignored. It
/// changes no acceptor state.
/// </summary>
public sealed record TimeoutNow(int From, int To, Ballot Ballot, long CommitIndex) : Message(From, To);
