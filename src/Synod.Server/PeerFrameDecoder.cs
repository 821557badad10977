using System.Buffers;
using Synod.Core.Messages;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>
/// A peer's frame into the core's message. A snapshot's chunk (1 MiB by default, the bulk of a catch-up's bytes) is
/// read straight into an array lent from this decoder's own pool, which the owner loop gives back once the core has
/// copied the chunk into its transfer (the core keeps no chunk: <c>Replica.OnInstallSnapshot</c> copies it). Through the
/// protobuf parser each chunk was a new large-object array, about 760 of them for a 757 MiB snapshot, every one zeroed
/// and counted towards a full collection. Only a chunk frame whose fields each come at most once, with no other field,
/// in shortest encodings (in any order, as the parser takes them), and whose chunk is no larger than a chunk may be
/// (<see cref="Core.ReplicaOptions.SnapshotChunkBytes"/>) is read so; every other frame goes through the parser as
/// before, so a frame means what it meant to the parser or is refused as before. The pool is the decoder's own and
/// bounded (arrays up to the chunk size, <see cref="ArraysKeptPerSize"/> of each size), so what a peer can leave pooled
/// is bounded too (a larger chunk, which the peer message rules refuse, never rents).
/// </summary>
internal sealed class PeerFrameDecoder(int chunkBytesMax)
{
    /// <summary>Arrays the pool keeps of each size: two windows of chunks in flight (ReplicaOptions.SnapshotChunksInFlightMax is larger, but rarely used).</summary>
    internal const int ArraysKeptPerSize = 16;

    private readonly ArrayPool<byte> _pool = ArrayPool<byte>.Create(Math.Max(1, chunkBytesMax), ArraysKeptPerSize);

    private const int ToField = (int)PeerMessage.ToFieldNumber;
    private const int InstallSnapshotField = (int)PeerMessage.InstallSnapshotFieldNumber;
    private const int VarintWire = 0;
    private const int LengthDelimitedWire = 2;

    /// <summary>
    /// The message <paramref name="frame"/> holds, from peer <paramref name="from"/>. <paramref name="lent"/> is the
    /// pooled array a chunk was read into, to be given back (<see cref="GiveBack"/>) once the core has stepped the
    /// message or it was dropped; null when nothing was lent. Throws as the parser and <see cref="PeerMessageCodec.Decode(int, PeerMessage)"/> do.
    /// </summary>
    public Message Decode(int from, ReadOnlySequence<byte> frame, out byte[]? lent)
    {
        if (TryDecodeChunk(from, frame, out var chunk, out lent))
        {
            return chunk;
        }

        return PeerMessageCodec.Decode(from, PeerMessage.Parser.ParseFrom(frame));
    }

    /// <summary>Gives back an array <see cref="Decode"/> lent; nothing for null.</summary>
    public void GiveBack(byte[]? lent)
    {
        if (lent is not null)
        {
            _pool.Return(lent);
        }
    }

    private bool TryDecodeChunk(int from, ReadOnlySequence<byte> frame, out InstallSnapshot message, out byte[]? lent)
    {
        message = null!;
        lent = null;
        var reader = new SequenceReader<byte>(frame);
        ulong to = 0;
        var sawTo = false;
        ReadOnlySequence<byte>? body = null;
        while (!reader.End)
        {
            if (!TryReadTag(ref reader, out var field, out var wire))
            {
                return false;
            }

            if (field == ToField && wire == VarintWire && !sawTo && TryReadVarint(ref reader, 5, out to) && to <= uint.MaxValue)
            {
                sawTo = true;
            }
            else if (field == InstallSnapshotField && wire == LengthDelimitedWire && body is null && TryReadLength(ref reader, out var length))
            {
                body = frame.Slice(reader.Position, length);
                reader.Advance(length);
            }
            else
            {
                return false;
            }
        }

        if (body is not { } chunkMessage)
        {
            return false;
        }

        reader = new SequenceReader<byte>(chunkMessage);
        var seen = 0;
        Span<long> numbers = stackalloc long[3];
        ReadOnlySequence<byte> bytes = default;
        while (!reader.End)
        {
            if (!TryReadTag(ref reader, out var field, out var wire) || field is < 1 or > 4 || (seen & (1 << field)) != 0)
            {
                return false;
            }

            seen |= 1 << field;
            if (field == 4)
            {
                if (wire != LengthDelimitedWire || !TryReadLength(ref reader, out var length))
                {
                    return false;
                }

                bytes = chunkMessage.Slice(reader.Position, length);
                reader.Advance(length);
            }
            else if (wire != VarintWire || !TryReadVarint(ref reader, 10, out var value))
            {
                return false;
            }
            else
            {
                numbers[field - 1] = (long)value;
            }
        }

        if (bytes.Length > chunkBytesMax)
        {
            // Refused by the peer message rules once decoded: through the parser, as before, never into the pool.
            return false;
        }

        var chunk = ReadOnlyMemory<byte>.Empty;
        if (bytes.Length > 0)
        {
            lent = _pool.Rent((int)bytes.Length);
            bytes.CopyTo(lent);
            chunk = lent.AsMemory(0, (int)bytes.Length);
        }

        message = new InstallSnapshot(from, (int)(uint)to, numbers[0], numbers[1], numbers[2], chunk);
        return true;
    }

    /// <summary>A field's tag in its shortest encoding (field numbers here fit in two bytes).</summary>
    private static bool TryReadTag(ref SequenceReader<byte> reader, out int field, out int wire)
    {
        field = 0;
        wire = 0;
        if (!TryReadVarint(ref reader, 2, out var tag) || tag >> 3 == 0)
        {
            return false;
        }

        field = (int)(tag >> 3);
        wire = (int)(tag & 7);
        return true;
    }

    /// <summary>A length within what is left of the frame, in its shortest encoding.</summary>
    private static bool TryReadLength(ref SequenceReader<byte> reader, out long length)
    {
        length = 0;
        if (!TryReadVarint(ref reader, 5, out var value) || value > int.MaxValue || (long)value > reader.Remaining)
        {
            return false;
        }

        length = (long)value;
        return true;
    }

    /// <summary>
    /// A varint of at most <paramref name="bytesMax"/> bytes in its shortest encoding (no trailing zero byte), and for
    /// ten bytes one whose last byte holds only the 64th bit: what the encoder writes, whose value the parser reads alike.
    /// </summary>
    private static bool TryReadVarint(ref SequenceReader<byte> reader, int bytesMax, out ulong value)
    {
        value = 0;
        for (var i = 0; i < bytesMax; i++)
        {
            if (!reader.TryRead(out var b))
            {
                return false;
            }

            if (i > 0 && b == 0)
            {
                return false;
            }

            if (i == 9 && b > 1)
            {
                return false;
            }

            value |= (ulong)(b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }
}
