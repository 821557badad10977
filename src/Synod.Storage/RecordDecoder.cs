using Synod.Core;
using Synod.Core.Persistence;

namespace Synod.Storage;

/// <summary>Turns a payload whose checksum matched back into its op; anything that does not fit is a <see cref="MalformedRecordException"/>.</summary>
internal static class RecordDecoder
{
    private const int LengthBytes = 4;

    /// <summary>The payload's format version byte (the payload has at least <see cref="RecordFormat.PayloadBytesMin"/> bytes).</summary>
    public static byte Version(ReadOnlySpan<byte> payload) => payload[0];

    public static PersistOp Decode(ReadOnlySpan<byte> payload)
    {
        // The scanner hands over only payloads of at least this length; a decoder of bytes from a disk checks anyway.
        if (payload.Length < RecordFormat.PayloadBytesMin)
        {
            throw new MalformedRecordException($"the record holds {payload.Length} payload bytes, fewer than the {RecordFormat.PayloadBytesMin} of a version and a type");
        }

        if (payload[0] == RecordFormat.RecordVersion)
        {
            if (payload[^1] != RecordFormat.EndMark)
            {
                throw new MalformedRecordException($"the record ends in 0x{payload[^1]:x2}, not its end mark 0x{RecordFormat.EndMark:x2}");
            }

            payload = payload[..^1];
        }

        var reader = new PayloadReader(payload);
        _ = reader.ReadByte();
        var type = reader.ReadByte();
        PersistOp op = (RecordType)type switch
        {
            RecordType.Promise => new PromiseOp(ReadBallot(ref reader)),
            RecordType.Accept => new AcceptOp(reader.ReadInt64(), ReadBallot(ref reader), ReadBatch(ref reader)),
            RecordType.Chosen => new ChosenOp(reader.ReadInt64(), ReadBatch(ref reader)),
            RecordType.Commit => new CommitOp(reader.ReadInt64()),
            RecordType.Rebuild => new RebuildOp(),
            RecordType.Voter => new VoterOp(ReadBallot(ref reader)),
            RecordType.CheckpointMarker => new CheckpointMarkerOp(reader.ReadInt64()),
            RecordType.CheckpointEnd => new CheckpointEndOp(reader.ReadInt64()),
            RecordType.Incarnation => new IncarnationOp(reader.ReadInt32(), reader.ReadInt64()),
            RecordType.QueryRound => new QueryRoundOp(reader.ReadInt64()),
            _ => throw new MalformedRecordException($"unknown record type {type}"),
        };
        if (reader.Remaining != 0)
        {
            throw new MalformedRecordException($"{reader.Remaining} bytes follow the fields of a {(RecordType)type} record");
        }

        return op;
    }

    private static Ballot ReadBallot(ref PayloadReader reader) => new(reader.ReadInt64(), reader.ReadInt32());

    private static byte[][] ReadBatch(ref PayloadReader reader)
    {
        var count = reader.ReadCount(LengthBytes);
        var commands = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            commands[i] = reader.ReadBytes(reader.ReadCount(1));
        }

        return commands;
    }
}
