using Synod.Core;
using Synod.Core.Messages;
using Synod.Server;

namespace Synod.Tests.Peers;

/// <summary>
/// Every peer message survives the wire: a message of scalar fields decodes equal to what was sent, field by field,
/// and one that carries commands or entries encodes again to the same bytes (its records hold arrays, compared by reference).
/// </summary>
public sealed class PeerMessageCodecTests
{
    private static readonly Ballot B = new(7, 3);

    public static TheoryData<Message> ScalarMessages() =>
    [
        new Prepare(3, 1, B, 12),
        new Prepare(3, 1, B, 12, Handover: true),
        new Accepted(3, 1, new Ballot(7, 1), 40),
        new Reject(3, 1, new Ballot(7, 1), new Ballot(9, 2)),
        new Heartbeat(3, 1, B, true, 10, 4, 8),
        new Heartbeat(3, 1, B, true, 10, 4, 8, UpTicks: 3001, LeadReadiness.HearsNoQuorum),
        new Heartbeat(2, 1, B, false, 10, 0, 0, UpTicks: 5, LeadReadiness.Ready, SnapshotSlot: 7),
        new Heartbeat(2, 1, Ballot.Zero, false, 10, 0, 0),
        new HeartbeatAck(2, 1, new Ballot(7, 1), 4, 10),
        new Commit(3, 1, B, 10),
        new CatchUpRequest(2, 1, 11, 9, 4096),
        new CatchUpRequest(2, 1, 11, 9, 4096, 8),
        new ReadIndexRequest(2, 1, 77),
        new ReadIndexReply(3, 1, 77, 10),
        new PreVote(3, 1, B),
        new PreVoteReply(2, 1, new Ballot(7, 1), true, B),
        new VoterQuery(2, 1, 3, 2),
        new Reballot(2, 1, B),
        new TimeoutNow(3, 1, B, 42),
    ];

    [Theory]
    [MemberData(nameof(ScalarMessages))]
    public void A_message_of_scalar_fields_decodes_equal_to_what_was_sent(Message message)
    {
        var decoded = PeerMessageCodec.Decode(message.From, PeerMessageCodec.Encode(message));
        Assert.Equal(message, decoded);
    }

    [Fact]
    public void A_message_with_commands_or_entries_encodes_again_to_the_same_bytes()
    {
        Message[] messages =
        [
            new Accept(3, 1, B, 40, [[1, 2], [3]], 39),
            new Promise(2, 3, B, 2, [new PromisedEntry(2, new Ballot(5, 1), [[9]], false), new PromisedEntry(3, Ballot.Zero, [[8]], true)], 3, 1, true, 4,
                new Dictionary<int, long> { [1] = 2 }),
            new CatchUpReply(2, 1, [new ChosenEntry(11, [[1]])], 12),
            new InstallSnapshot(2, 1, 10, 0, 3, new byte[] { 1, 2, 3 }),
            new Forward(2, 3, [[5, 6]]),
            new VoterQueryReply(2, 1, B, 2, 3, new Dictionary<int, long> { [3] = 2 }, 1, 4),
        ];

        foreach (var message in messages)
        {
            var encoded = PeerMessageCodec.Encode(message);
            var decoded = PeerMessageCodec.Decode(message.From, encoded);
            Assert.Equal(message.GetType(), decoded.GetType());
            Assert.Equal(encoded, PeerMessageCodec.Encode(decoded));
        }
    }

    [Fact]
    public void A_readiness_to_lead_this_build_does_not_know_reads_as_unknown_and_the_heartbeat_is_kept()
    {
        // A later build may say more about itself; the heartbeat still carries liveness and the leader's ballot.
        var encoded = PeerMessageCodec.Encode(new Heartbeat(3, 1, B, true, 10, 4, 8, 60, LeadReadiness.Ready));
        encoded.Heartbeat.Readiness = 42;

        var decoded = Assert.IsType<Heartbeat>(PeerMessageCodec.Decode(3, encoded));

        Assert.Equal(LeadReadiness.Unknown, decoded.Readiness);
        Assert.Equal((B, true, 10L), (decoded.Ballot, decoded.IsLeader, decoded.CommitIndex));
    }
}
