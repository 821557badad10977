using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// Learning what is chosen: from the leader's commit index (a slot accepted at the leader's own ballot holds
/// the chosen value), from peers' catch-up answers (chosen slots only), or from a snapshot when the peer has
/// compacted the slots away. Chosen slots are handed to the shell in order, each exactly once.
/// </summary>
public sealed partial class Replica
{
    private long _commitNoticeSent;
    private long _catchUpSentTick = long.MinValue / 2;
    private IncomingSnapshot? _incomingSnapshot;

    /// <summary>The slot of each peer's snapshot as its last heartbeat said it (0: none, or a build before heartbeats said it).</summary>
    private readonly Dictionary<int, long> _peerSnapshotSlot = [];

    /// <summary>
    /// For each peer asked to catch this replica up that has sent nothing back since (no chunk, no entries), the tick
    /// of the first such request: a peer heard but not answering (a one-way partition) is not chosen for its newer
    /// snapshot once it has been silent for an election timeout.
    /// </summary>
    private readonly Dictionary<int, long> _unansweredSince = [];

    /// <summary>
    /// The source and slot of a transfer dropped for a newer snapshot, until that source is asked again: a late first
    /// chunk of it would otherwise start it over.
    /// </summary>
    private (int From, long Slot)? _abandonedTransfer;

    /// <summary>
    /// For each peer whose snapshot this replica assembled and refused (damaged at the source or in transfer), that
    /// snapshot's slot: the peer is passed over for any other that can serve until it reports a newer snapshot, so that
    /// a copy damaged on a source's disk does not keep a learner fetching it for ever. One entry per peer.
    /// </summary>
    private readonly Dictionary<int, long> _refusedSnapshotOf = [];

    /// <summary>
    /// The request for log entries (not snapshot chunks) sent last and not answered yet: its peer, the first slot it
    /// asked for, the tick it was sent and whether it was itself asked again for want of an answer. Until it is answered,
    /// or <see cref="_logReaskTicks"/> pass, no other is sent: a heartbeat from another peer ahead asked that peer for
    /// the same slots, so that under a reply slower than RetransmitTicks (4 MiB applied at a learner) every slot of a
    /// catch-up came twice, from two peers, and was encoded, sent, parsed and checked twice.
    /// </summary>
    private (int Peer, long FromSlot, long SentTick, bool Reasked)? _logRequest;

    /// <summary>
    /// Ticks after which an unanswered log request is sent again: twice what the last answer took, RetransmitTicks at
    /// the least and an election timeout at the most, doubled when one is asked again unanswered (as a transfer's
    /// <see cref="IncomingSnapshot.ReaskTicks"/>).
    /// </summary>
    private long _logReaskTicks;

    /// <summary>
    /// The head of the snapshot this replica holds that no checksum covers (<see cref="HeaderOf"/>: the configuration
    /// header and the shell's own header), as it was checked in memory (built, assembled and unwrapped, or read with its
    /// file's checksum); null for none. Chunks that hold these bytes are sent with them (<see cref="HeaderFromMemory"/>),
    /// not with the mapping's.
    /// </summary>
    private byte[]? _snapshotHeader;

    private void MarkChosen(long slot, byte[][] commands, Ballot ballot)
    {
        if (slot <= _snapshotSlot)
        {
            return;
        }

        if (_log.TryGetValue(slot, out var entry) && entry.Chosen)
        {
            CheckSameChosen(slot, entry.Commands, commands, "learned again");
            return;
        }

        if (entry is not null && entry.AcceptedBallot == ballot && !ballot.IsZero)
        {
            entry.Chosen = true;
            return;
        }

        // This replica's own acceptor does not hold the value: persist it as learned, or a restart would lose it.
        _log[slot] = new LogEntry(Ballot.Zero, commands, chosen: true);
        _maxLogSlot = Math.Max(_maxLogSlot, slot);
        _ready.PersistOps.Add(new ChosenOp(slot, commands));
    }

    /// <summary>Runtime invariant: a slot known chosen is only ever learned, accepted or proposed again with the same value.</summary>
    private void CheckSameChosen(long slot, byte[][] chosen, byte[][] other, string where) =>
        Invariant.Check(
            Invariant.SameCommands(chosen, other),
            "a chosen slot never changes",
            $"replica {Id} holds slot {slot} chosen as {chosen.Length} command(s), and saw another value for it {where}");

    private void AdvanceCommit()
    {
        while (_log.TryGetValue(_commitIndex + 1, out var next) && next.Chosen)
        {
            CommitNextSlot();
        }
    }

    /// <summary>The next slot is known chosen: every advance of the commit index comes here, so configurations follow it in order.</summary>
    private void CommitNextSlot()
    {
        _commitIndex++;
        OnSlotCommitted(_commitIndex, _log[_commitIndex].Commands);
        if (_membersComputedAt != _commitIndex)
        {
            RefreshMembers();
        }
    }

    /// <summary>The leader at <paramref name="ballot"/> says every slot up to <paramref name="leaderCommit"/> is chosen.</summary>
    private void LearnCommit(Ballot ballot, long leaderCommit, int from)
    {
        if (leaderCommit <= _commitIndex)
        {
            return;
        }

        for (var slot = _commitIndex + 1; slot <= leaderCommit; slot++)
        {
            if (!_log.TryGetValue(slot, out var entry))
            {
                break;
            }

            if (!entry.Chosen && entry.AcceptedBallot != ballot)
            {
                break;
            }

            entry.Chosen = true;
        }

        AdvanceCommit();
        if (_commitIndex < leaderCommit)
        {
            RequestCatchUp(from);
        }
    }

    private void OnCommit(Commit commit)
    {
        if (commit.Ballot < _promised)
        {
            return;
        }

        NoteLeader(commit.From, commit.Ballot);
        NotePeerCommit(commit.From, commit.CommitIndex);
        LearnCommit(commit.Ballot, commit.CommitIndex, commit.From);
    }

    /// <summary>Followers learn a new commit point at once, not at the next write or heartbeat.</summary>
    private void NotifyCommit()
    {
        if (_role != ReplicaRole.Leader || _commitIndex <= _commitNoticeSent)
        {
            return;
        }

        _commitNoticeSent = _commitIndex;
        var ballot = _ballot;
        var commitIndex = _commitIndex;
        SendToPeers(to => new Commit(Id, to, ballot, commitIndex));
    }

    private void RequestCatchUp(int peer)
    {
        // A sitting leader learns everything it needs in phase 1 and chooses the rest itself; adopting another
        // leader's choices under its own ballot could make followers treat its stale proposals as chosen.
        if (peer == Id || _role == ReplicaRole.Leader || _tick - _catchUpSentTick < _options.RetransmitTicks)
        {
            return;
        }

        if (_incomingSnapshot is { } stale && stale.Slot <= _commitIndex)
        {
            _incomingSnapshot = null;
        }

        var newest = NewestSnapshotSource(peer);
        if (_incomingSnapshot is { } early && early.From != newest && early.Received <= SnapshotWindowBytes &&
            _peerSnapshotSlot.GetValueOrDefault(newest) > early.Slot && !Refused(newest) && (_options.Bugs & ProtocolBugs.OlderSnapshotKept) == 0)
        {
            // No more than the first window of an older snapshot has come: the newer one costs less than finishing that
            // one and then taking the log after it (or the newer snapshot after all).
            _abandonedTransfer = (early.From, early.Slot);
            _incomingSnapshot = null;
        }

        peer = newest;

        // While a snapshot transfer makes progress, keep asking its source: another peer would start over from zero.
        if (_incomingSnapshot is { } transfer && transfer.Received > 0 && _tick - transfer.LastProgressTick < _options.ElectionTimeoutTicks)
        {
            peer = transfer.From;
        }

        if (_incomingSnapshot is { } arriving && arriving.From == peer && arriving.Received < arriving.RequestedUpTo &&
            _tick - arriving.LastProgressTick < arriving.ReaskTicks)
        {
            // The window asked for is still arriving: asking again now would only have it sent twice.
            return;
        }

        var logOnly = _incomingSnapshot is not { } continuing || continuing.From != peer;
        var reasked = false;
        if (logOnly && _logRequest is { } pending && pending.FromSlot > _commitIndex)
        {
            if (_tick - pending.SentTick < LogReaskTicks)
            {
                // Its answer is on the way (or lost, and asked for again once the wait is over).
                return;
            }

            _logReaskTicks = Math.Min(2 * LogReaskTicks, LogReaskTicksMax);
            reasked = true;
            if (peer == pending.Peer && OtherPeerAhead(pending.Peer) is { } other)
            {
                // The peer asked left it unanswered (heard, perhaps, but not hearing): ask another ahead, not it again.
                peer = NewestSnapshotSource(other);
            }
        }

        _catchUpSentTick = _tick;
        if (_peerCommitIndex.GetValueOrDefault(peer) > _commitIndex)
        {
            // Only a peer ahead has something to answer with.
            _unansweredSince.TryAdd(peer, _tick);
        }

        if (_abandonedTransfer?.From == peer)
        {
            _abandonedTransfer = null;
        }

        if (_incomingSnapshot is { } incoming && incoming.From == peer)
        {
            if (incoming.Received < incoming.RequestedUpTo)
            {
                // Asked again for want of a chunk: wait longer before the next time, so that a slow link is not
                // answered with windows it cannot carry (a lost chunk is asked for again all the same).
                incoming.ReaskTicks = Math.Min(2 * incoming.ReaskTicks, Math.Max(_options.RetransmitTicks, _options.ElectionTimeoutTicks));
            }

            incoming.RequestedUpTo = incoming.Received + SnapshotWindowBytes;
            Send(new CatchUpRequest(Id, peer, _commitIndex + 1, incoming.Slot, incoming.Received, _options.SnapshotChunksInFlight));
        }
        else
        {
            _logRequest = (peer, _commitIndex + 1, _tick, reasked);
            Send(new CatchUpRequest(Id, peer, _commitIndex + 1, SnapshotChunks: _options.SnapshotChunksInFlight));
        }
    }

    private long LogReaskTicksMax => Math.Max(_options.RetransmitTicks, _options.ElectionTimeoutTicks);

    private long LogReaskTicks => Math.Clamp(_logReaskTicks, _options.RetransmitTicks, LogReaskTicksMax);

    /// <summary>A peer other than <paramref name="unanswered"/>, heard within the election timeout and ahead of this replica; null if none.</summary>
    private int? OtherPeerAhead(int unanswered)
    {
        foreach (var (other, commitIndex) in _peerCommitIndex)
        {
            if (other != Id && other != unanswered && commitIndex > _commitIndex && HeardRecently(other))
            {
                return other;
            }
        }

        return null;
    }

    /// <summary>
    /// An answer from <paramref name="peer"/> that begins at <paramref name="firstSlot"/> (entries), or a snapshot's first
    /// chunk at <paramref name="snapshotSlot"/>: it answers the log request in flight only if it is that request's
    /// answer, not one to an earlier request of the same peer (asked again, and then answered late), which would let a
    /// request for the same slots go again.
    /// </summary>
    private void LogRequestAnswered(int peer, long firstSlot = 0, long snapshotSlot = 0)
    {
        if (_logRequest is not { } pending || pending.Peer != peer || (firstSlot != pending.FromSlot && snapshotSlot < pending.FromSlot))
        {
            return;
        }

        if (!pending.Reasked)
        {
            // Measured only on a request sent once: an answer to one sent again may be the first one's, late.
            _logReaskTicks = Math.Clamp(2 * (_tick - pending.SentTick), _options.RetransmitTicks, LogReaskTicksMax);
        }

        _logRequest = null;
    }

    /// <summary>
    /// The peer to ask instead of <paramref name="peer"/>: when <paramref name="peer"/> would answer with a snapshot (its
    /// snapshot lies past this replica's commit index), the peer heard within the election timeout, ahead of this
    /// replica, with the newest snapshot. A peer that has left a request unanswered for an election timeout (heard, but
    /// not hearing this replica) is passed over, <paramref name="peer"/> too, for any other such peer, and so is a peer
    /// whose snapshot this replica refused until it reports a newer one (<see cref="Refused"/>); with none, the peer that
    /// asked is asked, as before the rule. Snapshots are taken one replica at a time, so peers hold different
    /// ones; asking whichever was heard first had a learner fetch an older snapshot, then the newer one as well.
    /// </summary>
    private int NewestSnapshotSource(int peer)
    {
        if ((_peerSnapshotSlot.GetValueOrDefault(peer) <= _commitIndex && !Refused(peer)) || (_options.Bugs & ProtocolBugs.OlderSnapshotKept) != 0)
        {
            return peer;
        }

        int? newest = Silent(peer) || Refused(peer) ? null : peer;
        foreach (var (other, slot) in _peerSnapshotSlot)
        {
            if ((newest is null || slot > _peerSnapshotSlot.GetValueOrDefault(newest.Value)) && other != Id && !Silent(other) && !Refused(other) &&
                _peerCommitIndex.GetValueOrDefault(other) > _commitIndex && HeardRecently(other))
            {
                newest = other;
            }
        }

        return newest ?? peer;
    }

    /// <summary>
    /// Whether this replica refused <paramref name="peer"/>'s snapshot (still past its commit index), and the peer has
    /// reported no newer one since (<see cref="_refusedSnapshotOf"/>).
    /// </summary>
    private bool Refused(int peer) =>
        (_options.Bugs & ProtocolBugs.RefusedSourceAskedAgain) == 0 && _refusedSnapshotOf.TryGetValue(peer, out var slot) &&
        slot > _commitIndex && slot >= _peerSnapshotSlot.GetValueOrDefault(peer);

    /// <summary>Whether <paramref name="peer"/> has left a catch-up request unanswered for an election timeout.</summary>
    private bool Silent(int peer) => _unansweredSince.TryGetValue(peer, out var since) && _tick - since >= _options.ElectionTimeoutTicks;

    /// <summary>The bytes of one window of snapshot chunks: what a source sends for one request.</summary>
    private long SnapshotWindowBytes => (long)_options.SnapshotChunkBytes * _options.SnapshotChunksInFlight;

    private void OnCatchUpRequest(CatchUpRequest request)
    {
        if (request.FromSlot <= _snapshotSlot && _snapshotData is { } snapshot)
        {
            // Continue the transfer the learner is in, or start this (possibly newer) snapshot from its beginning: a
            // window of chunks, which the learner takes in order (an empty snapshot is one empty chunk).
            var offset = request.SnapshotSlot == _snapshotSlot ? Math.Clamp(request.SnapshotOffset, 0, snapshot.Length) : 0;
            var window = Math.Clamp(request.SnapshotChunks, 1, _options.SnapshotChunksInFlight);
            for (var sent = 0; sent < window && (sent == 0 || offset < snapshot.Length); sent++)
            {
                var length = (int)Math.Min(_options.SnapshotChunkBytes, snapshot.Length - offset);
                var chunk = snapshot.Slice((int)offset, length);
                Send(new InstallSnapshot(Id, request.From, _snapshotSlot, offset, snapshot.Length, HeaderFromMemory(chunk, offset) ?? (_snapshotLent ? chunk.ToArray() : chunk)));
                offset += length;
            }

            return;
        }

        var entries = new List<ChosenEntry>();
        var bytes = 0L;
        for (var slot = Math.Max(request.FromSlot, _snapshotSlot + 1); slot <= _commitIndex && entries.Count < _options.CatchUpEntriesMax; slot++)
        {
            var commands = _log[slot].Commands;
            var size = commands.Sum(c => (long)c.Length);
            if (entries.Count > 0 && bytes + size > _options.CatchUpBytesMax)
            {
                break;
            }

            entries.Add(new ChosenEntry(slot, commands));
            bytes += size;
        }

        if (entries.Count > 0)
        {
            Send(new CatchUpReply(Id, request.From, entries, _commitIndex));
        }
    }

    /// <summary>
    /// A copy of <paramref name="chunk"/> (at <paramref name="offset"/> of the snapshot this replica holds) whose bytes of
    /// the head no checksum covers are the ones this replica checked in memory (<see cref="_snapshotHeader"/>); null if
    /// the chunk holds none of them. The snapshot is sent from its file's mapping, which was checked when it was read or
    /// written but can rot since: the state machine's body carries its own checksum, which the learner checks, but the
    /// configuration header has none, and a damaged one can still parse (a voter's flag, the slot a configuration takes
    /// effect from), so that the learner would count quorums of a configuration no replica chose; nor has the state
    /// machine's own header (a version byte flipped to another version still read passes the learner's check, and the
    /// restore fails after the snapshot was persisted). Bytes that differ are counted (<see cref="SnapshotHeadersDamaged"/>):
    /// the file is damaged, and the next start will refuse it.
    /// </summary>
    private byte[]? HeaderFromMemory(ReadOnlyMemory<byte> chunk, long offset)
    {
        if (_snapshotHeader is not { } header || offset >= header.Length || (_options.Bugs & ProtocolBugs.DamagedHeaderSent) != 0)
        {
            return null;
        }

        var copy = chunk.ToArray();
        var held = header.AsSpan((int)offset, Math.Min(copy.Length, header.Length - (int)offset));
        if (!copy.AsSpan(0, held.Length).SequenceEqual(held))
        {
            NoteSnapshotDamage("as its copy on disk holds it", "the header is sent from memory");
        }

        held.CopyTo(copy);
        return copy;
    }

    /// <summary>Counts damage found in the head of the snapshot this replica holds (<see cref="SnapshotHeadersDamaged"/>) and says where.</summary>
    private void NoteSnapshotDamage(string where, string instead)
    {
        SnapshotHeadersDamaged++;
        LastSnapshotDamage = $"the header of the snapshot at slot {_snapshotSlot} (its configurations and the state machine's header), {where}, is not the one " +
            $"this replica checked: the file is damaged, and the replica's next start will refuse it; {instead}";
    }

    /// <summary>
    /// The head of <paramref name="wrapped"/> (a snapshot checked in memory) that no checksum covers, copied: its
    /// configuration header, if it has one, and the first <see cref="ReplicaOptions.SnapshotShellHeadBytes"/> of the
    /// shell's bytes. Null for a snapshot whose header is cut short (refused where it is read).
    /// </summary>
    private byte[]? HeaderOf(ReadOnlySpan<byte> wrapped)
    {
        var shell = SnapshotShellBytes(wrapped);
        if (wrapped.StartsWith(EnvelopeMagic) && shell.Length == 0)
        {
            return null;
        }

        var head = wrapped.Length - shell.Length + Math.Min(shell.Length, _options.SnapshotShellHeadBytes);
        return head == 0 ? null : wrapped[..head].ToArray();
    }

    private void OnCatchUpReply(CatchUpReply reply)
    {
        _unansweredSince.Remove(reply.From);
        if (reply.Entries.Count > 0)
        {
            LogRequestAnswered(reply.From, firstSlot: reply.Entries[0].Slot);
        }

        if (_role == ReplicaRole.Leader)
        {
            return;
        }

        foreach (var entry in reply.Entries)
        {
            if (_log.TryGetValue(entry.Slot, out var known) && known.Chosen)
            {
                CheckSameChosen(entry.Slot, known.Commands, entry.Commands, $"in a catch-up reply from replica {reply.From}");
            }
            else if (entry.Slot > _commitIndex)
            {
                MarkChosen(entry.Slot, entry.Commands, Ballot.Zero);
            }
        }

        AdvanceCommit();
        if (_commitIndex < reply.CommitIndex)
        {
            _catchUpSentTick = long.MinValue / 2;
            RequestCatchUp(reply.From);
        }
    }

    private byte[] AllocateSnapshotArray(int length)
    {
        var array = _options.SnapshotArrayAllocator is { } allocate ? allocate(length) : new byte[length];
        return array.Length == length ? array
            : throw new InvalidOperationException($"SnapshotArrayAllocator returned {array.Length} bytes where {length} were asked for.");
    }

    private void OnInstallSnapshot(InstallSnapshot chunk)
    {
        _unansweredSince.Remove(chunk.From);
        if (chunk.Offset == 0)
        {
            LogRequestAnswered(chunk.From, snapshotSlot: chunk.SnapshotSlot);
        }

        if (chunk.Offset == 0 && _abandonedTransfer == (chunk.From, chunk.SnapshotSlot))
        {
            return;
        }

        if (chunk.Offset == 0 && (_options.Bugs & ProtocolBugs.RefusedSourceAskedAgain) == 0 &&
            _refusedSnapshotOf.TryGetValue(chunk.From, out var refused) && refused == chunk.SnapshotSlot && NewestSnapshotSource(chunk.From) != chunk.From)
        {
            // A late answer from a source whose copy was refused, while another can serve: starting it over would have
            // the next request ask that source again.
            return;
        }

        if (chunk.SnapshotSlot <= _commitIndex || _role == ReplicaRole.Leader || !IsWellFormed(chunk))
        {
            return;
        }

        if (chunk.Offset == 0 && !ContinuesTransfer(chunk))
        {
            // A first chunk comes with the rest of its window (a request without an offset asks for the first window).
            _incomingSnapshot = new IncomingSnapshot(chunk.From, chunk.SnapshotSlot, AllocateSnapshotArray((int)chunk.TotalBytes))
            {
                LastProgressTick = _tick, StartedTick = _tick, RequestedUpTo = SnapshotWindowBytes, ReaskTicks = _options.RetransmitTicks,
            };
        }

        var incoming = _incomingSnapshot;
        if (incoming is null || incoming.From != chunk.From || incoming.Slot != chunk.SnapshotSlot || incoming.Data.Length != chunk.TotalBytes)
        {
            // A chunk of an abandoned transfer, or of another source's: the next request names the transfer and offset needed.
            return;
        }

        if (incoming.Received != chunk.Offset && (_options.Bugs & ProtocolBugs.SnapshotChunkCountedEarly) != 0 && chunk.Offset > incoming.Received)
        {
            incoming.Received = (int)chunk.Offset;
        }

        if (incoming.Received != chunk.Offset)
        {
            // Ahead of the chunks that arrived in order but within the window asked for (one before it is late or lost):
            // kept, and counted once those before it arrive. Anything else is a duplicate.
            if (chunk.Offset > incoming.Received && chunk.Offset < incoming.RequestedUpTo && chunk.Chunk.Length > 0 &&
                incoming.Ahead.Count < _options.SnapshotChunksInFlight && !incoming.Ahead.ContainsKey(chunk.Offset))
            {
                chunk.Chunk.Span.CopyTo(incoming.Data.AsSpan((int)chunk.Offset));
                incoming.Ahead[chunk.Offset] = chunk.Chunk.Length;
            }

            return;
        }

        chunk.Chunk.Span.CopyTo(incoming.Data.AsSpan(incoming.Received));
        incoming.Received += chunk.Chunk.Length;
        incoming.TakeAhead();

        // Ask again only after twice the wait this chunk took: chunks slower than RetransmitTicks are not lost.
        incoming.ReaskTicks = Math.Clamp(2 * (_tick - incoming.LastProgressTick), _options.RetransmitTicks, Math.Max(_options.RetransmitTicks, _options.ElectionTimeoutTicks));
        incoming.LastProgressTick = _tick;
        _catchUpSentTick = long.MinValue / 2;
        if (incoming.Received < incoming.Data.Length)
        {
            RequestCatchUp(chunk.From);
            return;
        }

        _incomingSnapshot = null;
        InstallSnapshot(chunk.From, incoming.Slot, incoming.Data);
    }

    /// <summary>
    /// A first chunk that would throw away a transfer still making progress: the same snapshot again (a duplicate, or an
    /// answer to an earlier request), or another source's while this one's keeps coming.
    /// </summary>
    private bool ContinuesTransfer(InstallSnapshot chunk) =>
        _incomingSnapshot is { Received: > 0 } transfer && _tick - transfer.LastProgressTick < _options.ElectionTimeoutTicks &&
        ((transfer.From == chunk.From && transfer.Slot == chunk.SnapshotSlot) || transfer.From != chunk.From);

    private bool IsWellFormed(InstallSnapshot chunk) =>
        chunk.TotalBytes >= 0 && chunk.TotalBytes <= _options.SnapshotBytesMax && chunk.Offset >= 0 &&
        chunk.Offset + chunk.Chunk.Length <= chunk.TotalBytes && (chunk.Chunk.Length > 0 || chunk.TotalBytes == 0);

    private void InstallSnapshot(int from, long slot, byte[] data)
    {
        if (UnwrapSnapshot(data, out var problem) is not { } unwrapped)
        {
            RefuseSnapshot(from, slot, $"InstallSnapshot from replica {from}: {problem}");
            return;
        }

        if (_options.SnapshotCheck?.Invoke(unwrapped.Data) is { } damaged)
        {
            // Assembled wrong, or sent wrong: installing it would persist a state no restore accepts. Start over.
            SnapshotsRefused++;
            RefuseSnapshot(from, slot, $"InstallSnapshot from replica {from}: the snapshot at slot {slot} it assembled is refused by the state machine ({damaged}); fetching it again");
            return;
        }

        if (_role == ReplicaRole.Candidate && (_options.Bugs & ProtocolBugs.CandidateInstallsSnapshot) == 0)
        {
            // I15: this election's phase 1 asked from the old commit index, and the slots the snapshot covers leave the
            // log; leading on it would re-propose chosen slots. Stand down and stand again from the new commit index.
            BecomeFollower($"it installed a snapshot at slot {slot}, past the first slot its phase 1 asked for");
        }

        DropLogThrough(slot);
        _snapshotSlot = slot;
        _snapshotData = data;
        _snapshotHeader = HeaderOf(data);
        _snapshotLent = false;
        _commitIndex = slot;
        AdoptSnapshotConfigurations(unwrapped.Epochs);
        _pendingSnapshot = new SnapshotToInstall(slot, unwrapped.Data);
        _ready.PersistOps.Add(new SnapshotOp(slot, data));
        AdvanceCommit();
        _catchUpSentTick = long.MinValue / 2;
        if (_peerCommitIndex.GetValueOrDefault(from) > _commitIndex)
        {
            RequestCatchUp(from);
        }
    }

    /// <summary>
    /// A snapshot assembled from <paramref name="from"/>'s chunks is not installed: counted, remembered so that another
    /// source is asked if one can serve (a copy damaged on the source's disk is sent damaged again), and fetched again.
    /// </summary>
    private void RefuseSnapshot(int from, long slot, string why)
    {
        RefusedMessages++;
        LastRefusal = why;
        LastSnapshotRefused = (from, slot);
        if ((_options.Bugs & ProtocolBugs.RefusedSourceAskedAgain) != 0)
        {
            _catchUpSentTick = long.MinValue / 2;
            RequestCatchUp(from);
            return;
        }

        _refusedSnapshotOf[from] = slot;
        if (NewestSnapshotSource(from) == from)
        {
            // No other peer can serve: the refused source is asked again, at the next heartbeat or message that shows
            // this replica behind, RetransmitTicks from now at the soonest; back to back, a learner would fetch a copy
            // damaged at its source without pause.
            _catchUpSentTick = _tick;
            return;
        }

        _catchUpSentTick = long.MinValue / 2;
        RequestCatchUp(from);
    }

    private void DropLogThrough(long slot)
    {
        // Over the entries present: a snapshot far ahead of this log must not make the loop walk every slot number.
        var dropped = new List<long>();
        foreach (var s in _log.Keys)
        {
            if (s <= slot)
            {
                dropped.Add(s);
            }
        }

        foreach (var s in dropped)
        {
            _log.Remove(s);
        }

        _maxLogSlot = Math.Max(_maxLogSlot, slot);
    }

    private void EmitCommitted()
    {
        if (_pendingSnapshot is not null)
        {
            _ready.Snapshot = _pendingSnapshot;
            _appliedIndex = Math.Max(_appliedIndex, _pendingSnapshot.Slot);
            _pendingSnapshot = null;
        }

        while (_appliedIndex < _commitIndex)
        {
            _appliedIndex++;
            Invariant.Check(
                _log.TryGetValue(_appliedIndex, out var applied) && applied.Chosen,
                "only chosen slots are applied",
                $"replica {Id} was about to apply slot {_appliedIndex} (commit index {_commitIndex}), which its log does not hold chosen");
            _ready.Committed.Add(new CommittedEntry(_appliedIndex, _log[_appliedIndex].Commands));
        }
    }
}
