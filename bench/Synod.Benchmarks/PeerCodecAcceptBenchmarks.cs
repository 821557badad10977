using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Benchmarks;

/// <summary>
/// The leader's Accept on the wire (<see cref="PeerWire"/>). Every slot crosses this four times on a 5-replica leader
/// (one Accept per follower) and once on each follower, so its cost and allocations are paid per slot on every
/// replica, and with large batches they grow with every command byte. One command is an idle cluster's slot; 64 a
/// loaded one's (the core puts up to BatchCommandsMax = 128 in a slot).
/// </summary>
[MemoryDiagnoser]
public class PeerCodecAcceptBenchmarks
{
    private Accept _accept = null!;
    private byte[] _frameBytes = [];
    private byte[] _sendBuffer = [];

    [Params(1, 64)]
    public int CommandCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Mid-life numbers (a ballot past round 1, slots in the millions) so that varints have their usual widths.
        _accept = new Accept(From: 5, To: 1, new Ballot(7, 5), Slot: 3_141_592, SampleCommands.Batch(CommandCount), CommitIndex: 3_141_590);
        var encoded = PeerWire.EncodeFrame(_accept);
        _sendBuffer = new byte[PeerWire.FramedSize(encoded)];
        _frameBytes = _sendBuffer[..PeerWire.Serialize(encoded, _sendBuffer)];
        var decoded = (Accept)PeerWire.DecodeFrame(_frameBytes, _frameBytes.Length);
        if (decoded.Slot != _accept.Slot || decoded.Commands.Length != CommandCount || !decoded.Commands[^1].AsSpan().SequenceEqual(_accept.Commands[^1]))
        {
            throw new InvalidOperationException("The Accept did not survive a round trip through the codec; the benchmark would measure the wrong thing.");
        }
    }

    /// <summary>The sending side: core message to protobuf objects to bytes.</summary>
    [Benchmark]
    public int Encode() => PeerWire.Serialize(PeerWire.EncodeFrame(_accept), _sendBuffer);

    /// <summary>The receiving side: bytes to protobuf objects (as gRPC hands them over) to the core's message.</summary>
    [Benchmark]
    public Message Decode() => PeerWire.DecodeFrame(_frameBytes, _frameBytes.Length);

    /// <summary>Both sides, one after the other: the codec's whole cost per Accept sent and received.</summary>
    [Benchmark]
    public Message RoundTrip()
    {
        var length = PeerWire.Serialize(PeerWire.EncodeFrame(_accept), _sendBuffer);
        return PeerWire.DecodeFrame(_sendBuffer, length);
    }
}
