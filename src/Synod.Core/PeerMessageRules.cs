using Synod.Core.Messages;

namespace Synod.Core;

/// <summary>
/// What no correct replica could send, checked before a peer's message can change any state (docs/protocol.md,
/// "Peer message rules", V1–V8). Paxos tolerates crashes, not lies: the peer links authenticate who is speaking, and
/// these rules refuse what even an authenticated replica could only send through a bug or damage. The server checks
/// them as a message is decoded, and <see cref="Replica.Step"/> checks them again, so the simulator runs the same
/// rules. Every rule needs only the message and the cluster's configuration, never the replica's state.
/// </summary>
public static class PeerMessageRules
{
    /// <summary>
    /// The largest slot, commit index, read index or incarnation any message may name (V4): 2^53, which at a million
    /// slots a second lasts 285 years, and which keeps every sum of two such numbers far from overflowing.
    /// </summary>
    public const long NumberMax = 1L << 53;

    /// <summary>The largest ballot round (V2): as <see cref="NumberMax"/>, so a round can always be raised by one.</summary>
    public const long RoundMax = NumberMax;

    /// <summary>Null if a correct peer could have sent <paramref name="message"/> to this replica; otherwise the rule it breaks.</summary>
    public static string? Violation(Message message, ReplicaOptions options)
    {
        if (message.From == options.Id || !IsMember(message.From, options))
        {
            return $"V1: the sender {message.From} is not another member of this cluster";
        }

        if (message.To != options.Id)
        {
            return $"V1: addressed to replica {message.To}, not this one ({options.Id})";
        }

        return message switch
        {
            Prepare m => OwnBallot(m.Ballot, m, options) ?? Slot(m.FromSlot, "from slot"),
            Promise m => AnswerBallot(m.Ballot, m, options) ?? CheckPromise(m, options),
            Accept m => OwnBallot(m.Ballot, m, options) ?? Slot(m.Slot, "slot") ?? Number(m.CommitIndex, "commit index") ??
                Batch(m.Commands, options) ?? Window(m.Slot, m.CommitIndex, options),
            Accepted m => AnswerBallot(m.Ballot, m, options) ?? Slot(m.Slot, "slot"),
            Reject m => AnswerBallot(m.Ballot, m, options) ?? AnyBallot(m.Promised, "promised ballot", options),
            Heartbeat m => (m.IsLeader ? OwnBallot(m.Ballot, m, options) : AnyBallot(m.Ballot, "promised ballot", options)) ??
                Number(m.CommitIndex, "commit index") ?? Number(m.ReadRound, "read round") ?? Number(m.Phase1Slot, "phase 1 slot") ??
                Number(m.UpTicks, "time up"),
            HeartbeatAck m => AnswerBallot(m.Ballot, m, options) ?? Number(m.ReadRound, "read round") ?? Number(m.CommitIndex, "commit index"),
            Commit m => OwnBallot(m.Ballot, m, options) ?? Number(m.CommitIndex, "commit index"),
            CatchUpRequest m => Slot(m.FromSlot, "from slot") ?? Number(m.SnapshotSlot, "snapshot slot") ?? Number(m.SnapshotOffset, "snapshot offset") ??
                (m.SnapshotChunks is >= 0 and <= ReplicaOptions.SnapshotChunksInFlightMax ? null : $"V4: the snapshot chunks asked for, {m.SnapshotChunks}, lie outside 0..{ReplicaOptions.SnapshotChunksInFlightMax}"),
            CatchUpReply m => CheckCatchUpReply(m, options),
            InstallSnapshot m => CheckSnapshotChunk(m, options),
            Forward m => m.Commands.Count <= options.BatchCommandsMax ? null : $"V6: {m.Commands.Count} commands, over BatchCommandsMax ({options.BatchCommandsMax})",
            ReadIndexRequest => null,
            ReadIndexReply m => Number(m.Index, "read index"),
            PreVote m => OwnBallot(m.Ballot, m, options),
            PreVoteReply m => AnswerBallot(m.Ballot, m, options) ?? AnyBallot(m.Promised, "promised ballot", options),
            VoterQuery m => Number(m.Incarnation, "incarnation") ?? Number(m.Round, "question round"),
            VoterQueryReply m => AnyBallot(m.Promised, "promised ballot", options) ?? Number(m.KnownIncarnation, "known incarnation") ??
                Number(m.Incarnation, "incarnation") ?? Number(m.Round, "question round") ?? Number(m.Life, "life") ??
                Lives(m.KnownIncarnations, options),
            Reballot m => AnyBallot(m.Above, "ballot", options),
            TimeoutNow m => OwnBallot(m.Ballot, m, options) ?? Number(m.CommitIndex, "commit index"),
            _ => $"V1: a message of unknown type {message.GetType().Name}",
        };
    }

    private static bool IsMember(int id, ReplicaOptions options)
    {
        if (id >= 1 && id <= options.MemberIdMax)
        {
            return true;
        }

        foreach (var member in options.Members)
        {
            if (member == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>V2: a ballot is zero (nothing promised yet) or a round in 1..RoundMax with a member's id.</summary>
    private static string? AnyBallot(Ballot ballot, string what, ReplicaOptions options) =>
        ballot.IsZero || (ballot.Round >= 1 && ballot.Round <= RoundMax && IsMember(ballot.ReplicaId, options))
            ? null
            : $"V2: the {what} {ballot} is neither zero nor a round in 1..{RoundMax} of a member";

    /// <summary>V3: a proposer sends Prepare, Accept, Commit, PreVote, TimeoutNow and a leader's Heartbeat only at a ballot of its own.</summary>
    private static string? OwnBallot(Ballot ballot, Message message, ReplicaOptions options) =>
        AnyBallot(ballot, "ballot", options) ??
        (ballot.ReplicaId == message.From ? null : $"V3: the ballot {ballot} belongs to replica {ballot.ReplicaId}, not to its sender {message.From}");

    /// <summary>V3: Promise, Accepted, HeartbeatAck, Reject and PreVoteReply answer a ballot of the replica they go to.</summary>
    private static string? AnswerBallot(Ballot ballot, Message message, ReplicaOptions options) =>
        AnyBallot(ballot, "ballot", options) ??
        (ballot.ReplicaId == message.To ? null : $"V3: an answer about ballot {ballot}, which is not a ballot of this replica ({message.To})");

    /// <summary>V4: every number a message names lies in 0..NumberMax.</summary>
    private static string? Number(long value, string what) =>
        value >= 0 && value <= NumberMax ? null : $"V4: the {what} {value} lies outside 0..{NumberMax}";

    private static string? Slot(long slot, string what) =>
        slot >= 1 && slot <= NumberMax ? null : $"V4: the {what} {slot} lies outside 1..{NumberMax}";

    /// <summary>V5: a leader never proposes more than SlotsBeyondCommitMax slots beyond the commit index it sends along.</summary>
    private static string? Window(long slot, long commitIndex, ReplicaOptions options) =>
        slot - commitIndex <= options.SlotsBeyondCommitMax
            ? null
            : $"V5: slot {slot} lies more than SlotsBeyondCommitMax ({options.SlotsBeyondCommitMax}) beyond the commit index {commitIndex}";

    /// <summary>V6: a batch holds at most BatchCommandsMax commands.</summary>
    private static string? Batch(byte[][] commands, ReplicaOptions options) =>
        commands.Length <= options.BatchCommandsMax ? null : $"V6: a batch of {commands.Length} commands, over BatchCommandsMax ({options.BatchCommandsMax})";

    /// <summary>
    /// V7: a promise lists at most PromiseEntriesMax entries, each at or after the slot asked for, accepted at no higher
    /// ballot than the one promised (a zero ballot only for a value learned chosen), and knows lives only of members.
    /// </summary>
    private static string? CheckPromise(Promise m, ReplicaOptions options)
    {
        var problem = Slot(m.FromSlot, "from slot") ?? Number(m.CommitIndex, "commit index") ?? Number(m.SnapshotSlot, "snapshot slot") ??
            Number(m.Incarnation, "incarnation");
        if (problem is not null)
        {
            return problem;
        }

        if (m.Entries.Count > options.PromiseEntriesMax)
        {
            return $"V7: {m.Entries.Count} entries, over PromiseEntriesMax ({options.PromiseEntriesMax})";
        }

        foreach (var entry in m.Entries)
        {
            if (entry.Slot < m.FromSlot || entry.Slot <= m.SnapshotSlot || entry.Slot > NumberMax)
            {
                return $"V7: an entry for slot {entry.Slot}, outside the slots a promise from slot {m.FromSlot} above snapshot {m.SnapshotSlot} may list";
            }

            if ((entry.Ballot.IsZero && !entry.Chosen) || entry.Ballot > m.Ballot || AnyBallot(entry.Ballot, "entry ballot", options) is not null)
            {
                return $"V7: slot {entry.Slot} accepted at ballot {entry.Ballot}, which a promise of {m.Ballot} cannot report";
            }

            if (Batch(entry.Commands, options) is { } batch)
            {
                return batch;
            }
        }

        return Lives(m.KnownIncarnations, options);
    }

    /// <summary>V7: the lives a promise or a voter's answer reports are of members, and valid numbers (so at most one per member).</summary>
    private static string? Lives(IReadOnlyDictionary<int, long>? lives, ReplicaOptions options)
    {
        foreach (var (replica, life) in lives ?? new Dictionary<int, long>())
        {
            if (!IsMember(replica, options) || Number(life, "incarnation") is not null)
            {
                return $"V7: a life {life} of replica {replica}, which is not a member or not a valid number";
            }
        }

        return null;
    }

    /// <summary>V8: a catch-up answer carries at most CatchUpEntriesMax chosen slots, none above the commit index it reports.</summary>
    private static string? CheckCatchUpReply(CatchUpReply m, ReplicaOptions options)
    {
        if (Number(m.CommitIndex, "commit index") is { } problem)
        {
            return problem;
        }

        if (m.Entries.Count > options.CatchUpEntriesMax)
        {
            return $"V8: {m.Entries.Count} entries, over CatchUpEntriesMax ({options.CatchUpEntriesMax})";
        }

        foreach (var entry in m.Entries)
        {
            if (entry.Slot < 1 || entry.Slot > m.CommitIndex)
            {
                return $"V8: a chosen slot {entry.Slot} outside 1..{m.CommitIndex}, the commit index sent along";
            }

            if (Batch(entry.Commands, options) is { } batch)
            {
                return batch;
            }
        }

        return null;
    }

    /// <summary>V8: a snapshot chunk lies within its snapshot, which is at most SnapshotBytesMax, and is at most SnapshotChunkBytes.</summary>
    private static string? CheckSnapshotChunk(InstallSnapshot m, ReplicaOptions options) =>
        Slot(m.SnapshotSlot, "snapshot slot") ??
        (m.TotalBytes >= 0 && m.TotalBytes <= options.SnapshotBytesMax && m.Offset >= 0 && m.Chunk.Length <= options.SnapshotChunkBytes &&
            m.Offset + m.Chunk.Length <= m.TotalBytes && (m.Chunk.Length > 0 || m.TotalBytes == 0)
            ? null
            : $"V8: a chunk of {m.Chunk.Length} bytes at offset {m.Offset} of a {m.TotalBytes}-byte snapshot, outside SnapshotChunkBytes ({options.SnapshotChunkBytes}) or SnapshotBytesMax ({options.SnapshotBytesMax})");
}
