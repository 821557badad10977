using System.Text;
using Synod.Core.Messages;
using Synod.Kv;

namespace Synod.Explorer;

/// <summary>One-line renderings of messages and batches for printed schedules.</summary>
internal static class ScheduleText
{
    public static string Batch(byte[][] commands) =>
        commands.Length == 0 ? "[no-op]" : "[" + string.Join(",", commands.Select(Command)) + "]";

    public static string Describe(Message message) => $"{message.From}->{message.To} " + message switch
    {
        Prepare m => $"Prepare b={m.Ballot} from={m.FromSlot}" + (m.Handover ? " handover" : ""),
        Promise m => $"Promise b={m.Ballot} from={m.FromSlot} entries={{{string.Join(" ", m.Entries.Select(e => $"{e.Slot}:{(e.Chosen ? "chosen" : "b=" + e.Ballot)}:{Batch(e.Commands)}"))}}} commit={m.CommitIndex} snapshot={m.SnapshotSlot} life={m.Incarnation}",
        Accept m => $"Accept b={m.Ballot} slot={m.Slot} {Batch(m.Commands)} commit={m.CommitIndex}",
        Accepted m => $"Accepted b={m.Ballot} slot={m.Slot}",
        Reject m => $"Reject b={m.Ballot} promised={m.Promised}",
        Heartbeat m => $"Heartbeat b={m.Ballot} leader={m.IsLeader} commit={m.CommitIndex} phase1={m.Phase1Slot}",
        HeartbeatAck m => $"HeartbeatAck b={m.Ballot} commit={m.CommitIndex}",
        Commit m => $"Commit b={m.Ballot} commit={m.CommitIndex}",
        CatchUpRequest m => $"CatchUpRequest from={m.FromSlot}" + (m.SnapshotSlot == 0 ? "" : $" snapshot={m.SnapshotSlot}@{m.SnapshotOffset}"),
        CatchUpReply m => $"CatchUpReply {string.Join(" ", m.Entries.Select(e => $"{e.Slot}:{Batch(e.Commands)}"))} commit={m.CommitIndex}",
        InstallSnapshot m => $"InstallSnapshot slot={m.SnapshotSlot} bytes={m.Offset}..{m.Offset + m.Chunk.Length} of {m.TotalBytes}",
        Forward m => $"Forward {Batch([.. m.Commands])}",
        PreVote m => $"PreVote b={m.Ballot}",
        PreVoteReply m => $"PreVoteReply b={m.Ballot} granted={m.Granted} promised={m.Promised}",
        VoterQuery m => $"VoterQuery life={m.Incarnation}",
        VoterQueryReply m => $"VoterQueryReply promised={m.Promised} known-life={m.KnownIncarnation} life={m.Incarnation}",
        Reballot m => $"Reballot above={m.Above}",
        TimeoutNow m => $"TimeoutNow b={m.Ballot} commit={m.CommitIndex}",
        _ => message.ToString(),
    };

    private static string Command(byte[] bytes)
    {
        try
        {
            var command = KvCommand.Decode(bytes);
            return $"{Encoding.UTF8.GetString(command.Key)}={Encoding.UTF8.GetString(command.Value)}";
        }
        catch (KvFormatException)
        {
            return $"{bytes.Length} bytes";
        }
    }
}
