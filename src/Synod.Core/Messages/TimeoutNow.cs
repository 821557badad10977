namespace Synod.Core.Messages;

/// <summary>
/// "Stand now": a leader at <paramref name="Ballot"/> hands its leadership to the replica it sends this to, which it saw
/// know every slot it had proposed chosen (Replica.Handover.cs). It changes no acceptor state.
/// </summary>
public sealed record TimeoutNow(int From, int To, Ballot Ballot) : Message(From, To);
