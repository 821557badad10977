using Google.Protobuf;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>
/// Translates the core's messages to and from the peer protocol. Decoding checks that every required field is
/// present and throws <see cref="FormatException"/> naming what is missing, so a malformed frame from a peer is
/// dropped with a log line and never reaches the core.
/// </summary>
public static class PeerMessageCodec
{
    public static PeerMessage Encode(Message message)
    {
        var pb = new PeerMessage { To = (uint)message.To };
        switch (message)
        {
            case Prepare m: pb.Prepare = new PreparePb { Ballot = Encode(m.Ballot), FromSlot = m.FromSlot, Handover = m.Handover }; break;
            case Promise m:
                pb.Promise = new PromisePb
                {
                    Ballot = Encode(m.Ballot), FromSlot = m.FromSlot, CommitIndex = m.CommitIndex, SnapshotSlot = m.SnapshotSlot, Truncated = m.Truncated,
                    Incarnation = m.Incarnation,
                };
                foreach (var (replica, incarnation) in m.KnownIncarnations ?? new Dictionary<int, long>())
                {
                    pb.Promise.KnownIncarnations[(uint)replica] = incarnation;
                }

                pb.Promise.Entries.AddRange(m.Entries.Select(e => new PromisedEntryPb { Slot = e.Slot, Ballot = Encode(e.Ballot), Batch = Encode(e.Commands), Chosen = e.Chosen }));
                break;
            case Accept m: pb.Accept = new AcceptPb { Ballot = Encode(m.Ballot), Slot = m.Slot, Batch = Encode(m.Commands), CommitIndex = m.CommitIndex }; break;
            case Accepted m: pb.Accepted = new AcceptedPb { Ballot = Encode(m.Ballot), Slot = m.Slot }; break;
            case Reject m: pb.Reject = new RejectPb { Ballot = Encode(m.Ballot), Promised = Encode(m.Promised) }; break;
            case Heartbeat m: pb.Heartbeat = new HeartbeatPb { Ballot = Encode(m.Ballot), IsLeader = m.IsLeader, CommitIndex = m.CommitIndex, ReadRound = m.ReadRound, Phase1Slot = m.Phase1Slot, UpTicks = m.UpTicks, Readiness = (int)m.Readiness, SnapshotSlot = m.SnapshotSlot }; break;
            case HeartbeatAck m: pb.HeartbeatAck = new HeartbeatAckPb { Ballot = Encode(m.Ballot), ReadRound = m.ReadRound, CommitIndex = m.CommitIndex }; break;
            case Commit m: pb.Commit = new CommitPb { Ballot = Encode(m.Ballot), CommitIndex = m.CommitIndex }; break;
            case CatchUpRequest m: pb.CatchUpRequest = new CatchUpRequestPb { FromSlot = m.FromSlot, SnapshotSlot = m.SnapshotSlot, SnapshotOffset = m.SnapshotOffset, SnapshotChunks = (uint)m.SnapshotChunks }; break;
            case CatchUpReply m:
                pb.CatchUpReply = new CatchUpReplyPb { CommitIndex = m.CommitIndex };
                pb.CatchUpReply.Entries.AddRange(m.Entries.Select(e => new ChosenEntryPb { Slot = e.Slot, Batch = Encode(e.Commands) }));
                break;
            case InstallSnapshot m: pb.InstallSnapshot = new InstallSnapshotPb { SnapshotSlot = m.SnapshotSlot, Offset = m.Offset, TotalBytes = m.TotalBytes, Chunk = UnsafeByteOperations.UnsafeWrap(m.Chunk) }; break;
            case Forward m: pb.Forward = new ForwardPb { Batch = Encode([.. m.Commands]) }; break;
            case ReadIndexRequest m: pb.ReadIndexRequest = new ReadIndexRequestPb { ReadId = m.ReadId }; break;
            case ReadIndexReply m: pb.ReadIndexReply = new ReadIndexReplyPb { ReadId = m.ReadId, Index = m.Index }; break;
            case PreVote m: pb.PreVote = new PreVotePb { Ballot = Encode(m.Ballot) }; break;
            case PreVoteReply m: pb.PreVoteReply = new PreVoteReplyPb { Ballot = Encode(m.Ballot), Granted = m.Granted, Promised = Encode(m.Promised) }; break;
            case VoterQuery m: pb.VoterQuery = new VoterQueryPb { Incarnation = m.Incarnation, Round = m.Round }; break;
            case VoterQueryReply m:
                pb.VoterQueryReply = new VoterQueryReplyPb
                {
                    Promised = Encode(m.Promised), KnownIncarnation = m.KnownIncarnation, Incarnation = m.Incarnation, Round = m.Round, Life = m.Life,
                };
                foreach (var (replica, incarnation) in m.KnownIncarnations ?? new Dictionary<int, long>())
                {
                    pb.VoterQueryReply.KnownIncarnations[(uint)replica] = incarnation;
                }

                break;
            case Reballot m: pb.Reballot = new ReballotPb { Above = Encode(m.Above) }; break;
            case TimeoutNow m: pb.TimeoutNow = new TimeoutNowPb { Ballot = Encode(m.Ballot), CommitIndex = m.CommitIndex }; break;
            default: throw new ArgumentException($"No peer encoding for {message.GetType().Name}.", nameof(message));
        }

        return pb;
    }

    public static Message Decode(int from, PeerMessage pb)
    {
        var to = (int)pb.To;
        return pb.KindCase switch
        {
            PeerMessage.KindOneofCase.Prepare => new Prepare(from, to, Decode(pb.Prepare.Ballot), pb.Prepare.FromSlot, pb.Prepare.Handover),
            PeerMessage.KindOneofCase.Promise => new Promise(from, to, Decode(pb.Promise.Ballot), pb.Promise.FromSlot,
                [.. pb.Promise.Entries.Select(e => new PromisedEntry(e.Slot, Decode(e.Ballot), Decode(e.Batch), e.Chosen))],
                pb.Promise.CommitIndex, pb.Promise.SnapshotSlot, pb.Promise.Truncated, pb.Promise.Incarnation,
                pb.Promise.KnownIncarnations.ToDictionary(pair => (int)pair.Key, pair => pair.Value)),
            PeerMessage.KindOneofCase.Accept => new Accept(from, to, Decode(pb.Accept.Ballot), pb.Accept.Slot, Decode(pb.Accept.Batch), pb.Accept.CommitIndex),
            PeerMessage.KindOneofCase.Accepted => new Accepted(from, to, Decode(pb.Accepted.Ballot), pb.Accepted.Slot),
            PeerMessage.KindOneofCase.Reject => new Reject(from, to, Decode(pb.Reject.Ballot), Decode(pb.Reject.Promised)),
            PeerMessage.KindOneofCase.Heartbeat => new Heartbeat(from, to, Decode(pb.Heartbeat.Ballot), pb.Heartbeat.IsLeader, pb.Heartbeat.CommitIndex, pb.Heartbeat.ReadRound, pb.Heartbeat.Phase1Slot, pb.Heartbeat.UpTicks,
                Enum.IsDefined((LeadReadiness)pb.Heartbeat.Readiness) ? (LeadReadiness)pb.Heartbeat.Readiness : LeadReadiness.Unknown, pb.Heartbeat.SnapshotSlot),
            PeerMessage.KindOneofCase.HeartbeatAck => new HeartbeatAck(from, to, Decode(pb.HeartbeatAck.Ballot), pb.HeartbeatAck.ReadRound, pb.HeartbeatAck.CommitIndex),
            PeerMessage.KindOneofCase.Commit => new Commit(from, to, Decode(pb.Commit.Ballot), pb.Commit.CommitIndex),
            PeerMessage.KindOneofCase.CatchUpRequest => new CatchUpRequest(from, to, pb.CatchUpRequest.FromSlot, pb.CatchUpRequest.SnapshotSlot, pb.CatchUpRequest.SnapshotOffset, (int)Math.Min(pb.CatchUpRequest.SnapshotChunks, int.MaxValue)),
            PeerMessage.KindOneofCase.CatchUpReply => new CatchUpReply(from, to,
                [.. pb.CatchUpReply.Entries.Select(e => new ChosenEntry(e.Slot, Decode(e.Batch)))], pb.CatchUpReply.CommitIndex),
            PeerMessage.KindOneofCase.InstallSnapshot => new InstallSnapshot(from, to, pb.InstallSnapshot.SnapshotSlot, pb.InstallSnapshot.Offset, pb.InstallSnapshot.TotalBytes, ProtoBytes.OwnedArray(pb.InstallSnapshot.Chunk)),
            PeerMessage.KindOneofCase.Forward => new Forward(from, to, Decode(pb.Forward.Batch)),
            PeerMessage.KindOneofCase.ReadIndexRequest => new ReadIndexRequest(from, to, pb.ReadIndexRequest.ReadId),
            PeerMessage.KindOneofCase.ReadIndexReply => new ReadIndexReply(from, to, pb.ReadIndexReply.ReadId, pb.ReadIndexReply.Index),
            PeerMessage.KindOneofCase.PreVote => new PreVote(from, to, Decode(pb.PreVote.Ballot)),
            PeerMessage.KindOneofCase.PreVoteReply => new PreVoteReply(from, to, Decode(pb.PreVoteReply.Ballot), pb.PreVoteReply.Granted, Decode(pb.PreVoteReply.Promised)),
            PeerMessage.KindOneofCase.VoterQuery => new VoterQuery(from, to, pb.VoterQuery.Incarnation, pb.VoterQuery.Round),
            PeerMessage.KindOneofCase.VoterQueryReply => new VoterQueryReply(from, to, Decode(pb.VoterQueryReply.Promised), pb.VoterQueryReply.KnownIncarnation, pb.VoterQueryReply.Incarnation,
                pb.VoterQueryReply.KnownIncarnations.ToDictionary(pair => (int)pair.Key, pair => pair.Value), pb.VoterQueryReply.Round, pb.VoterQueryReply.Life),
            PeerMessage.KindOneofCase.Reballot => new Reballot(from, to, Decode(pb.Reballot.Above)),
            PeerMessage.KindOneofCase.TimeoutNow => new TimeoutNow(from, to, Decode(pb.TimeoutNow.Ballot), pb.TimeoutNow.CommitIndex),
            _ => throw new FormatException($"a peer message from replica {from} carries no known kind ({pb.KindCase})."),
        };
    }

    private static BallotPb Encode(Ballot ballot) => new() { Round = ballot.Round, Replica = (uint)ballot.ReplicaId };

    private static Ballot Decode(BallotPb? pb) =>
        pb is null ? throw new FormatException("a peer message lacks its ballot.") : new Ballot(pb.Round, (int)pb.Replica);

    private static BatchPb Encode(byte[][] commands)
    {
        var pb = new BatchPb();
        foreach (var command in commands)
        {
            pb.Commands.Add(UnsafeByteOperations.UnsafeWrap(command));
        }

        return pb;
    }

    private static byte[][] Decode(BatchPb? pb)
    {
        if (pb is null)
        {
            throw new FormatException("a peer message lacks its batch.");
        }

        var commands = new byte[pb.Commands.Count][];
        for (var i = 0; i < commands.Length; i++)
        {
            commands[i] = ProtoBytes.OwnedArray(pb.Commands[i]);
        }

        return commands;
    }
}
