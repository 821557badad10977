using System.Buffers;
using CsCheck;
using Google.Protobuf;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Protocol.Peer;
using Synod.Server;

namespace Synod.Tests.Peers;

/// <summary>
/// The receiver reads a snapshot chunk's frame without the protobuf parser, into an array lent from the pool: every
/// frame must mean to it what it means to the parser, however the frame arrived in pieces, and any frame it does not
/// read the way the encoder writes must go to the parser (which decodes or refuses it as before).
/// </summary>
public sealed class PeerFrameDecoderTests
{
    private static readonly int ChunkBytes = new ReplicaOptions { Id = 1, Members = [1] }.SnapshotChunkBytes;
    private static readonly PeerFrameDecoder Frames = new(ChunkBytes);
    [Fact]
    public void Snapshot_chunks_read_without_the_parser_equal_the_parsers_reading_however_the_frame_is_split()
    {
        var chunks = Gen.Select(Gen.Long, Gen.Long, Gen.Long, Gen.Byte.Array[0, 3000], Gen.Int, Gen.Int[1, 700])
            .Select(t => (Message: new InstallSnapshot(4, t.Item5, t.Item1, t.Item2, t.Item3, t.Item4), Segment: t.Item6));
        chunks.Sample(t =>
        {
            var bytes = PeerMessageCodec.Encode(t.Message).ToByteArray();
            var decoded = Frames.Decode(4, SplitSequence.Of(bytes, t.Segment), out var lent);
            try
            {
                Assert.Equal(Describe(PeerMessageCodec.Decode(4, PeerMessage.Parser.ParseFrom(bytes))), Describe(decoded));
                Assert.Equal(Describe(t.Message), Describe(decoded));
                Assert.Equal(t.Message.Chunk.Length > 0, lent is not null);
            }
            finally
            {
                Frames.GiveBack(lent);
            }
        }, iter: 2_000, threads: 1);
    }

    [Fact]
    public void A_chunk_frame_written_otherwise_than_the_encoder_writes_it_is_left_to_the_parser()
    {
        var chunk = new InstallSnapshotPb { SnapshotSlot = 9, Offset = 1024, TotalBytes = 4096, Chunk = ByteString.CopyFromUtf8("chunk") };
        var body = chunk.ToByteArray();
        byte[] Frame(params byte[][] parts) => [.. parts.SelectMany(p => p)];
        byte[] Field(int number, byte[] message) => [.. Varint((ulong)(number << 3 | 2)), .. Varint((ulong)message.Length), .. message];

        // The embedded message twice: the parser merges them (the second's fields win), a reading of one alone would not.
        var twice = Frame([8, 1], Field(20, body), Field(20, new InstallSnapshotPb { Offset = 2048 }.ToByteArray()));
        // A field the encoder never writes, a non-shortest varint, and another message's field after the chunk.
        var unknown = Frame([8, 1], Field(20, [.. body, 0x28, 0x05]));
        var padded = Frame([0x88, 0x00, 0x01], Field(20, body));
        var oneofLast = Frame([8, 1], Field(20, body), Field(17, PeerMessageCodec.Encode(new Commit(4, 1, new Ballot(2, 4), 3)).Commit.ToByteArray()));
        foreach (var frame in new[] { twice, unknown, padded, oneofLast })
        {
            var expected = Describe(PeerMessageCodec.Decode(4, PeerMessage.Parser.ParseFrom(frame)));
            var decoded = Frames.Decode(4, SplitSequence.Of(frame, 2), out var lent);
            Assert.Null(lent);
            Assert.Equal(expected, Describe(decoded));
        }

        // A frame the parser refuses is refused alike: a chunk cut short.
        var cut = Frame([8, 1], Field(20, body))[..^2];
        Assert.Throws<InvalidProtocolBufferException>(() => Frames.Decode(4, SplitSequence.Of(cut, 3), out _));
    }

    [Fact]
    public void A_chunk_of_the_size_peers_send_is_lent_and_one_larger_than_a_chunk_may_be_goes_to_the_parser()
    {
        var whole = new byte[ChunkBytes];
        new Random(5).NextBytes(whole);
        var frame = PeerMessageCodec.Encode(new InstallSnapshot(3, 1, 40, 8L * ChunkBytes, 64L * ChunkBytes, whole)).ToByteArray();
        var decoded = (InstallSnapshot)Frames.Decode(3, SplitSequence.Of(frame, 4096), out var lent);
        try
        {
            Assert.NotNull(lent);
            Assert.True(decoded.Chunk.Span.SequenceEqual(whole));
            Assert.Equal((40L, 8L * ChunkBytes, 64L * ChunkBytes), (decoded.SnapshotSlot, decoded.Offset, decoded.TotalBytes));
        }
        finally
        {
            Frames.GiveBack(lent);
        }

        // One byte over: the peer message rules refuse it once decoded; it never rents from the pool.
        var over = PeerMessageCodec.Encode(new InstallSnapshot(3, 1, 40, 0, 64L * ChunkBytes, new byte[ChunkBytes + 1])).ToByteArray();
        var parsed = (InstallSnapshot)Frames.Decode(3, SplitSequence.Of(over, 4096), out var none);
        Assert.Null(none);
        Assert.Equal(ChunkBytes + 1, parsed.Chunk.Length);
    }

    [Fact]
    public void Every_other_message_goes_through_the_parser_and_lends_nothing()
    {
        var frame = PeerMessageCodec.Encode(new Accept(3, 1, new Ballot(2, 3), 5, [[1, 2, 3]], 4)).ToByteArray();
        var decoded = Frames.Decode(3, SplitSequence.Of(frame, 1), out var lent);
        Assert.Null(lent);
        Assert.Equal(Describe(PeerMessageCodec.Decode(3, PeerMessage.Parser.ParseFrom(frame))), Describe(decoded));
    }

    /// <summary>A message as text to compare: its sender, its type and its encoding (records holding arrays compare them by reference).</summary>
    internal static string Describe(Message message) => message is InstallSnapshot chunk
        ? $"InstallSnapshot from {chunk.From} to {chunk.To} slot {chunk.SnapshotSlot} offset {chunk.Offset} total {chunk.TotalBytes} chunk {Convert.ToHexString(chunk.Chunk.Span)}"
        : $"{message.GetType().Name} from {message.From} {Convert.ToHexString(PeerMessageCodec.Encode(message).ToByteArray())}";

    /// <summary>A varint as protobuf writes it.</summary>
    private static byte[] Varint(ulong value)
    {
        var bytes = new byte[CodedOutputStream.ComputeUInt64Size(value)];
        new CodedOutputStream(bytes).WriteUInt64(value);
        return bytes;
    }
}

/// <summary>Bytes as a sequence of segments of a given size, as a pipe hands over what arrived in pieces.</summary>
internal sealed class SplitSequence : ReadOnlySequenceSegment<byte>
{
    private SplitSequence(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Of(byte[] bytes, int segmentBytes)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new SplitSequence(bytes.AsMemory(0, Math.Min(segmentBytes, bytes.Length)), 0);
        var last = first;
        for (var at = last.Memory.Length; at < bytes.Length; at += segmentBytes)
        {
            var next = new SplitSequence(bytes.AsMemory(at, Math.Min(segmentBytes, bytes.Length - at)), at);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
