using BenchmarkDotNet.Attributes;
using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Benchmarks;

/// <summary>
/// The small messages of every write, each a full round trip through <see cref="PeerWire"/> (encode, serialise, parse, decode):
/// the Accepted that each follower sends back per slot, and the Commit the leader sends each follower as soon as its
/// commit index moves. They carry no payload, so what they cost is the codec's fixed overhead per message; a 5-replica
/// leader receives four Accepted per slot and sends four Commits per commit.
/// </summary>
[MemoryDiagnoser]
public class PeerCodecReplyBenchmarks
{
    private readonly Accepted _accepted = new(From: 1, To: 5, new Ballot(7, 5), Slot: 3_141_592);
    private readonly Commit _commit = new(From: 5, To: 1, new Ballot(7, 5), CommitIndex: 3_141_592);
    private readonly byte[] _sendBuffer = new byte[256];

    [Benchmark]
    public Message AcceptedRoundTrip() => RoundTrip(_accepted);

    [Benchmark]
    public Message CommitRoundTrip() => RoundTrip(_commit);

    private Message RoundTrip(Message message)
    {
        var length = PeerWire.Serialize(PeerWire.EncodeFrame(message), _sendBuffer);
        return PeerWire.DecodeFrame(_sendBuffer, length);
    }
}
