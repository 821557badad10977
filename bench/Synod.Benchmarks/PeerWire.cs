using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using Synod.Core.Messages;
using Synod.Protocol.Peer;
using Synod.Server;

namespace Synod.Benchmarks;

/// <summary>
/// What happens to a core message between two replicas, short of the socket: <see cref="PeerMessageCodec"/> and the
/// protobuf serialisation behind a 4-byte length prefix, as <c>PeerLink</c> writes it and <c>PeerReceiver</c> reads it.
/// </summary>
internal static class PeerWire
{
    private const int LengthPrefixBytes = 4;

    /// <summary>The connection's peer, which the receiver knows from the hello; any id but the addressee's will do.</summary>
    private const int SenderId = 5;

    public static PeerMessage EncodeFrame(Message message) => PeerMessageCodec.Encode(message);

    public static int FramedSize(PeerMessage message) => LengthPrefixBytes + message.CalculateSize();

    /// <summary>The link sizes the message and writes it after its length into its reused send buffer; so does this.</summary>
    public static int Serialize(PeerMessage message, byte[] buffer)
    {
        var length = message.CalculateSize();
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)length);
        message.WriteTo(buffer.AsSpan(LengthPrefixBytes, length));
        return LengthPrefixBytes + length;
    }

    /// <summary>The receiver parses from a <see cref="ReadOnlySequence{T}"/> over Kestrel's receive buffers; so does this.</summary>
    public static Message DecodeFrame(byte[] bytes, int length)
    {
        var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var message = PeerMessage.Parser.ParseFrom(new ReadOnlySequence<byte>(bytes, LengthPrefixBytes, Math.Min(size, length - LengthPrefixBytes)));
        return PeerMessageCodec.Decode(SenderId, message);
    }
}
