using System.Buffers;
using Google.Protobuf;
using Synod.Core.Messages;
using Synod.Protocol.Peer;
using Synod.Server;

namespace Synod.Benchmarks;

/// <summary>
/// What happens to a core message between two replicas, short of the network: <see cref="PeerMessageCodec"/> and the
/// protobuf serialisation that gRPC performs around it, in a one-message <see cref="PeerFrame"/> as <c>PeerLink</c>
/// sends it when the link is idle.
/// </summary>
internal static class PeerWire
{
    public const int ClusterSize = 5;

    public static PeerFrame EncodeFrame(Message message)
    {
        var frame = new PeerFrame { From = (uint)message.From, ClusterSize = ClusterSize };
        frame.Messages.Add(PeerMessageCodec.Encode(message));
        return frame;
    }

    /// <summary>gRPC sizes the message, then writes it into its own buffer; a reused array stands in for that buffer.</summary>
    public static int Serialize(PeerFrame frame, byte[] buffer)
    {
        var length = frame.CalculateSize();
        frame.WriteTo(buffer.AsSpan(0, length));
        return length;
    }

    /// <summary>gRPC's server parses from a <see cref="ReadOnlySequence{T}"/> over its receive buffers; so does this.</summary>
    public static Message DecodeFrame(byte[] bytes, int length)
    {
        var frame = PeerFrame.Parser.ParseFrom(new ReadOnlySequence<byte>(bytes, 0, length));
        return PeerMessageCodec.Decode((int)frame.From, frame.Messages[0]);
    }
}
