using System.Text;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>Stable, readable one-line renderings of core messages for scripted traces.</summary>
internal static class MessageText
{
    public static string Batch(byte[][] commands) =>
        commands.Length == 0 ? "noop" : "[" + string.Join(",", commands.Select(c => Encoding.UTF8.GetString(c))) + "]";

    public static string Describe(Message message) => $"{message.From}->{message.To} " + message switch
    {
        Prepare m => $"Prepare b={m.Ballot} from={m.FromSlot}",
        Promise m => $"Promise b={m.Ballot} from={m.FromSlot} entries={{{string.Join(" ", m.Entries.Select(e => $"{e.Slot}:{(e.Chosen ? "chosen" : "b=" + e.Ballot)}:{Batch(e.Commands)}"))}}} commit={m.CommitIndex}",
        Accept m => $"Accept b={m.Ballot} slot={m.Slot} {Batch(m.Commands)} commit={m.CommitIndex}",
        Accepted m => $"Accepted b={m.Ballot} slot={m.Slot}",
        Reject m => $"Reject b={m.Ballot} promised={m.Promised}",
        Heartbeat m => $"Heartbeat b={m.Ballot} leader={m.IsLeader} commit={m.CommitIndex} round={m.ReadRound}",
        HeartbeatAck m => $"HeartbeatAck b={m.Ballot} round={m.ReadRound} commit={m.CommitIndex}",
        Commit m => $"Commit b={m.Ballot} commit={m.CommitIndex}",
        CatchUpRequest m => $"CatchUpRequest from={m.FromSlot}" + (m.SnapshotSlot == 0 ? "" : $" snapshot={m.SnapshotSlot}@{m.SnapshotOffset}"),
        CatchUpReply m => $"CatchUpReply {string.Join(" ", m.Entries.Select(e => $"{e.Slot}:{Batch(e.Commands)}"))} commit={m.CommitIndex}",
        InstallSnapshot m => $"InstallSnapshot slot={m.SnapshotSlot} bytes={m.Offset}..{m.Offset + m.Chunk.Length} of {m.TotalBytes}",
        Forward m => $"Forward {Batch([.. m.Commands])}",
        ReadIndexRequest m => $"ReadIndexRequest read={m.ReadId}",
        ReadIndexReply m => $"ReadIndexReply read={m.ReadId} index={m.Index}",
        PreVote m => $"PreVote b={m.Ballot}",
        PreVoteReply m => $"PreVoteReply b={m.Ballot} granted={m.Granted} promised={m.Promised}",
        _ => message.ToString(),
    };
}
