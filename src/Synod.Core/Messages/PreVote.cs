namespace Synod.Core.Messages;

/// <summary>
/// "Would you promise me a ballot above yours?", asked before standing; it changes no acceptor state. A replica that
/// cannot reach a quorum, or that came back while a leader is alive, therefore never raises ballots and disrupts no one.
/// </summary>
public sealed record PreVote(int From, int To, Ballot Ballot) : Message(From, To);
