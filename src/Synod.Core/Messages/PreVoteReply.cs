namespace Synod.Core.Messages;

/// <summary>Granted unless the replica still hears a leader (or leads). Promised tells the asker which ballot to beat.</summary>
public sealed record PreVoteReply(int From, int To, Ballot Ballot, bool Granted, Ballot Promised) : Message(From, To);
