using Synod.Core;
using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>The payload of each op, field by field, as docs/storage.md lays it out (the fields of format 1's paxos.log).</summary>
internal static class RecordEncoder
{
    private const int BallotBytes = 8 + 4;
    private const int SlotBytes = 8;
    private const int CountBytes = 4;
    private const int EndMarkBytes = 1;

    /// <summary>The payload size, as a long so that an absurd batch cannot overflow before the limit check.</summary>
    public static long PayloadBytes(PersistOp op) => RecordFormat.PayloadBytesMin + EndMarkBytes + op switch
    {
        PromiseOp => BallotBytes,
        AcceptOp accept => SlotBytes + BallotBytes + BatchBytes(accept.Commands),
        ChosenOp chosen => SlotBytes + BatchBytes(chosen.Commands),
        CommitOp => SlotBytes,
        RebuildOp => 0,
        VoterOp => BallotBytes,
        IncarnationOp => CountBytes + SlotBytes,
        QueryRoundOp => SlotBytes,
        CheckpointMarkerOp or CheckpointEndOp => SlotBytes,
        _ => throw NotARecord(op),
    };

    public static void EncodePayload(PersistOp op, Span<byte> payload)
    {
        var writer = new PayloadWriter(payload);
        writer.WriteByte(RecordFormat.RecordVersion);
        switch (op)
        {
            case PromiseOp promise:
                writer.WriteByte((byte)RecordType.Promise);
                WriteBallot(ref writer, promise.Ballot);
                break;
            case AcceptOp accept:
                writer.WriteByte((byte)RecordType.Accept);
                writer.WriteInt64(accept.Slot);
                WriteBallot(ref writer, accept.Ballot);
                WriteBatch(ref writer, accept.Commands);
                break;
            case ChosenOp chosen:
                writer.WriteByte((byte)RecordType.Chosen);
                writer.WriteInt64(chosen.Slot);
                WriteBatch(ref writer, chosen.Commands);
                break;
            case CommitOp commit:
                writer.WriteByte((byte)RecordType.Commit);
                writer.WriteInt64(commit.CommitIndex);
                break;
            case RebuildOp:
                writer.WriteByte((byte)RecordType.Rebuild);
                break;
            case VoterOp voter:
                writer.WriteByte((byte)RecordType.Voter);
                WriteBallot(ref writer, voter.Ballot);
                break;
            case CheckpointMarkerOp marker:
                writer.WriteByte((byte)RecordType.CheckpointMarker);
                writer.WriteInt64(marker.SnapshotSlot);
                break;
            case CheckpointEndOp end:
                writer.WriteByte((byte)RecordType.CheckpointEnd);
                writer.WriteInt64(end.SnapshotSlot);
                break;
            case IncarnationOp incarnation:
                writer.WriteByte((byte)RecordType.Incarnation);
                writer.WriteInt32(incarnation.Replica);
                writer.WriteInt64(incarnation.Incarnation);
                break;
            case QueryRoundOp round:
                writer.WriteByte((byte)RecordType.QueryRound);
                writer.WriteInt64(round.Round);
                break;
            default:
                throw NotARecord(op);
        }

        writer.WriteByte(RecordFormat.EndMark);
        if (writer.Position != payload.Length)
        {
            throw new InvalidOperationException($"Encoding {Describe(op)} wrote {writer.Position} bytes where {payload.Length} were computed; the size and the encoding disagree.");
        }
    }

    /// <summary>Names an op for messages without printing its commands.</summary>
    public static string Describe(PersistOp op) => op switch
    {
        AcceptOp accept => $"AcceptOp for slot {accept.Slot} ({accept.Commands.Length} commands)",
        ChosenOp chosen => $"ChosenOp for slot {chosen.Slot} ({chosen.Commands.Length} commands)",
        SnapshotOp snapshot => $"SnapshotOp for slot {snapshot.Slot}",
        _ => op.GetType().Name,
    };

    private static long BatchBytes(byte[][] commands)
    {
        long bytes = CountBytes;
        foreach (var command in commands)
        {
            bytes += CountBytes + command.Length;
        }

        return bytes;
    }

    private static void WriteBallot(ref PayloadWriter writer, Ballot ballot)
    {
        writer.WriteInt64(ballot.Round);
        writer.WriteInt32(ballot.ReplicaId);
    }

    private static void WriteBatch(ref PayloadWriter writer, byte[][] commands)
    {
        writer.WriteInt32(commands.Length);
        foreach (var command in commands)
        {
            writer.WriteInt32(command.Length);
            writer.WriteBytes(command);
        }
    }

    private static ArgumentException NotARecord(PersistOp op) =>
        new($"{op.GetType().Name} has no WAL record type (snapshots are written to snap/, not to the WAL).", nameof(op));
}
