using Synod.Core.Messages;
using Synod.Core.Persistence;

namespace Synod.Core;

/// <summary>
/// One replica's Multi-Paxos core: proposer, acceptor and learner in one single-threaded, deterministic
/// state machine. Inputs are <see cref="Step"/> (a peer's message), <see cref="Tick"/> (one unit of logical
/// time), <see cref="Propose"/> (a client command), <see cref="RequestRead"/> (a linearizable read),
/// <see cref="Persisted"/> ("durable up to this Ready") and <see cref="Compact"/> (a snapshot was taken).
/// After inputs the shell calls <see cref="TakeReady"/> and carries out what it says.
/// The parts live in Replica.Election.cs, Replica.PreVote.cs, Replica.Prepare.cs, Replica.Accept.cs, Replica.Learn.cs,
/// Replica.Read.cs and Replica.Rebuild.cs.
/// </summary>
public sealed partial class Replica
{
    private readonly ReplicaOptions _options;
    private readonly IRandomSource _random;

    // Acceptor and learner: the log and what is known chosen.
    private readonly Dictionary<long, LogEntry> _log = [];
    private Ballot _promised;
    private long _maxLogSlot;
    private long _commitIndex;
    private long _persistedCommitIndex;
    private long _appliedIndex;
    private long _snapshotSlot;
    /// <summary>
    /// The snapshot this replica holds, as stored (configuration envelope, then the state machine's bytes): the memory
    /// it was made (lent by the shell) or received in until its file is durable, then the stored file itself
    /// (<see cref="UseStoredSnapshot"/>). Never written to once it is a snapshot: peers are sent views of it, or copies
    /// while it is lent.
    /// </summary>
    private ReadOnlyMemory<byte>? _snapshotData;

    /// <summary>The snapshot's bytes are the shell's, lent (<see cref="CompactEnveloped"/>): peers are sent copies of them.</summary>
    private bool _snapshotLent;
    private SnapshotToInstall? _pendingSnapshot;

    // Time and liveness, counted in ticks.
    private long _tick;
    private long _lastHeartbeatTick;
    private readonly Dictionary<int, long> _lastHeardTick = [];
    private readonly Dictionary<int, long> _peerCommitIndex = [];

    // Output being gathered, and messages to self that wait for their Ready to be durable.
    private Ready _ready = new() { Number = 1 };
    private readonly List<(long ReadyNumber, Message Message)> _selfInbox = [];

    public Replica(ReplicaOptions options, IRandomSource random, DurableState? restored = null)
    {
        options.Validate();
        _options = options;
        _random = random;
        // Every member counts as heard at start, so the largest id stands first after a cold start.
        _rulesOptions = options;
        InitConfigurations();
        _electionJitter = _random.Next(_options.ElectionJitterTicks);
        if (restored is not null)
        {
            Restore(restored);
        }
    }

    public int Id => _options.Id;

    public ReplicaOptions Options => _options;

    public ReplicaRole Role => _role;

    /// <summary>The leader this replica follows (itself when leading), or null when it knows none.</summary>
    public int? LeaderId => _leaderId;

    /// <summary>
    /// This replica leads, or heard its leader within an election timeout. Without one, a client request would only
    /// wait: the driver answers "no leader" at once instead (and proposes nothing).
    /// </summary>
    public bool KnowsLiveLeader => _role == ReplicaRole.Leader || HeardLeaderRecently;

    /// <summary>The ballot this replica leads or stands with; zero if it never stood.</summary>
    public Ballot Ballot => _ballot;

    public Ballot Promised => _promised;

    public long CommitIndex => _commitIndex;

    /// <summary>The next slot this replica proposes in while it leads: every slot below it may have been proposed.</summary>
    public long NextSlot => _nextSlot;

    public long AppliedIndex => _appliedIndex;

    public long SnapshotSlot => _snapshotSlot;

    public long CurrentTick => _tick;

    public int LogEntryCount => _log.Count;

    /// <summary>The highest commit index this replica has heard of from any replica, itself included.</summary>
    public long HighestKnownCommit => Math.Max(_commitIndex, _peerCommitIndex.Values.Max());

    /// <summary>Replicas heard from within the election timeout, this one included, in id order.</summary>
    public IReadOnlyList<int> LiveMembers() => [.. _members.Where(m => m == Id || HeardRecently(m))];

    /// <summary>
    /// Whether a message of <paramref name="peer"/> arrived within the last <paramref name="ticks"/> ticks: the one test of
    /// hearing a peer. A member never heard counts as heard at tick 0 (its entry is made so when it becomes a member): the
    /// members at the start are presumed live for one election timeout, one added later is not heard until it is; an id
    /// never a member and never heard is not heard. (<see cref="TicksSinceHeard"/>, for display only, counts from 0 too.)
    /// </summary>
    private bool HeardWithin(int peer, long ticks) => _lastHeardTick.TryGetValue(peer, out var at) && _tick - at < ticks;

    /// <summary>Whether <paramref name="peer"/> was heard within the election timeout (<see cref="HeardWithin"/>).</summary>
    private bool HeardRecently(int peer) => HeardWithin(peer, _options.ElectionTimeoutTicks);

    /// <summary>Why the role last changed, in a few words ("the leader handed over to it", "replica 3 leads at 4.3"), for the shell's log.</summary>
    public string RoleReason { get; private set; } = "it started";

    /// <summary>Ticks since a message of member <paramref name="id"/> last arrived (0 for this replica; since the start for one never heard).</summary>
    public long TicksSinceHeard(int id) => id == Id ? 0 : _tick - _lastHeardTick.GetValueOrDefault(id);

    /// <summary>Answers to itself (promises, acceptances) that wait for their Ready to be reported persisted.</summary>
    public int SelfMessagesWaiting => _selfInbox.Count;

    /// <summary>Messages to itself this replica has handled once their Ready was durable (<see cref="Persisted"/>), since it started.</summary>
    public long SelfMessagesDelivered { get; private set; }

    /// <summary>Client commands dropped because no leader took them within ProposalWaitTicksMax, since this core started.</summary>
    public long ExpiredProposals { get; private set; }

    /// <summary>Slots this replica proposed as leader (phase 2 begun), since it started; retransmissions not counted.</summary>
    public long SlotsProposed { get; private set; }

    /// <summary>Read-index rounds this replica started as leader (one heartbeat round confirms every read waiting), since it started.</summary>
    public long ReadRoundsStarted { get; private set; }

    /// <summary>Peers' messages dropped because they broke a rule of <see cref="PeerMessageRules"/>, since this core started.</summary>
    public long RefusedMessages { get; private set; }

    /// <summary>The last refused message and the rule it broke, for the shell's log; null if none was refused.</summary>
    public string? LastRefusal { get; private set; }

    /// <summary>Snapshots assembled from a peer's chunks that <see cref="ReplicaOptions.SnapshotCheck"/> refused (and that were fetched again).</summary>
    public long SnapshotsRefused { get; private set; }

    /// <summary>
    /// Chunks of this replica's snapshot whose head no checksum covers (its configuration header and the state machine's
    /// header), as its copy on disk (the file's mapping) holds it, differed from the head it checked in memory, and
    /// stored copies not taken for it: the file is damaged. The chunks were sent with the head from memory.
    /// </summary>
    public long SnapshotHeadersDamaged { get; private set; }

    /// <summary>What the last damage counted in <see cref="SnapshotHeadersDamaged"/> was, for the shell's log; null if none.</summary>
    public string? LastSnapshotDamage { get; private set; }

    /// <summary>The source and slot of the last snapshot assembled from a peer's chunks and not installed (malformed or refused by the state machine); null if none.</summary>
    public (int From, long Slot)? LastSnapshotRefused { get; private set; }

    /// <summary>
    /// The snapshot this replica is receiving from a peer, if any: its source, slot, when it began and the bytes in so
    /// far. None once it would no longer be installed (the commit index passed its slot by the log, or this replica
    /// leads), though the core may still hold its array until the next request.
    /// </summary>
    public SnapshotTransferProgress? IncomingSnapshotProgress =>
        _incomingSnapshot is { } transfer && transfer.Slot > _commitIndex && _role != ReplicaRole.Leader
            ? new SnapshotTransferProgress(transfer.From, transfer.Slot, transfer.StartedTick, transfer.Received, transfer.Data.Length)
            : null;

    /// <summary>
    /// A message from a peer (or, looped back by the core itself, from this replica). A peer's message that no correct
    /// replica could send is dropped and counted (<see cref="RefusedMessages"/>), and changes nothing.
    /// </summary>
    public void Step(Message message)
    {
        if (message.From != Id && (_options.Bugs & ProtocolBugs.SkipMessageValidation) == 0 &&
            PeerMessageRules.Violation(message, _rulesOptions) is { } violation)
        {
            RefusedMessages++;
            LastRefusal = $"{message.GetType().Name} from replica {message.From}: {violation}";
            return;
        }

        if (message.To != Id)
        {
            throw new InvalidOperationException($"Replica {Id} was handed a message for replica {message.To}: {message}.");
        }

        if (message.From != Id)
        {
            NoteHeard(message.From);
            _lastHeardTick[message.From] = _tick;
            _heardSinceStart.Add(message.From);
        }

        Dispatch(message);
        PushHandover();
    }

    /// <summary>One unit of logical time.</summary>
    public void Tick()
    {
        _tick++;
        ExpireProposals();
        TickRebuild();
        switch (_role)
        {
            case ReplicaRole.Leader:
                TickLeader();
                break;
            case ReplicaRole.Candidate:
                TickCandidate();
                break;
            default:
                TickFollower();
                break;
        }
    }

    /// <summary>A client command. It is proposed here if this replica leads, else passed on to the leader.</summary>
    public void Propose(byte[] command)
    {
        if (_proposals.Count >= _options.ProposalQueueCommandsMax)
        {
            // The oldest waiting command is the one whose client has most likely given up already.
            DequeueProposal();
        }

        _proposals.Enqueue(command);
        _proposalTicks.Enqueue(_tick);
        _proposalBytes += command.Length;
    }

    /// <summary>Everything the durable state of every Ready up to <paramref name="readyNumber"/> now holds.</summary>
    public void Persisted(long readyNumber)
    {
        while (_selfInbox.Count > 0 && _selfInbox[0].ReadyNumber <= readyNumber)
        {
            var message = _selfInbox[0].Message;
            _selfInbox.RemoveAt(0);
            SelfMessagesDelivered++;
            Dispatch(message);
        }
    }

    /// <summary>
    /// The shell took a snapshot of the state machine as of <paramref name="slot"/> (at most what it was handed to
    /// apply): the log up to it may go, and peers too far behind receive the snapshot instead.
    /// </summary>
    public void Compact(long slot, ReadOnlySpan<byte> snapshot)
    {
        if (CanCompactTo(slot))
        {
            KeepSnapshot(slot, WrapSnapshot(slot, snapshot), lent: false);
        }
    }

    /// <summary>
    /// <see cref="Compact"/> for a snapshot the shell serialised behind the <see cref="SnapshotEnvelope"/> of
    /// <paramref name="slot"/>, the first <paramref name="envelopeBytes"/> bytes of <paramref name="enveloped"/>: kept
    /// as it is, with no copy of the state on this thread. Should that envelope not be the one this replica writes for
    /// the slot now, the shell's bytes after it are wrapped again (correct, at the cost of the copy).
    /// </summary>
    /// <remarks>
    /// The bytes are lent, not given: the shell may free them once the log has written the snapshot and the core has
    /// taken the stored copy instead (<see cref="UseStoredSnapshot"/>), or holds another snapshot. Until then they go
    /// to the log as they are, and a peer sent chunks of them gets copies, since a message may wait in a queue for
    /// longer than the shell keeps the memory.
    /// </remarks>
    public void CompactEnveloped(long slot, ReadOnlyMemory<byte> enveloped, int envelopeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(envelopeBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(envelopeBytes, enveloped.Length);
        if (!CanCompactTo(slot))
        {
            return;
        }

        if (enveloped.Span[..envelopeBytes].SequenceEqual(SnapshotEnvelope(slot)))
        {
            KeepSnapshot(slot, enveloped, lent: true);
        }
        else
        {
            KeepSnapshot(slot, WrapSnapshot(slot, enveloped.Span[envelopeBytes..]), lent: false);
        }
    }

    private bool CanCompactTo(long slot)
    {
        if (slot > _appliedIndex)
        {
            throw new InvalidOperationException($"Replica {Id} cannot compact to slot {slot}: only slots up to {_appliedIndex} were handed out to apply.");
        }

        return slot > _snapshotSlot;
    }

    private void KeepSnapshot(long slot, ReadOnlyMemory<byte> wrapped, bool lent)
    {
        DropLogThrough(slot);
        _snapshotSlot = slot;
        _snapshotData = wrapped;
        _snapshotHeader = HeaderOf(wrapped.Span);
        _snapshotLent = lent;
        ForgetConfigurationsThrough(slot);
        _ready.PersistOps.Add(new SnapshotOp(slot, wrapped));
    }

    /// <summary>Whether the snapshot this replica holds is <paramref name="data"/> (by identity): memory the shell lent it is freed only once this says no.</summary>
    public bool HoldsSnapshotBytes(ReadOnlyMemory<byte> data) =>
        (_snapshotData is { } held && held.Equals(data)) || _ready.PersistOps.Any(op => op is SnapshotOp snapshot && snapshot.Data.Equals(data));

    /// <summary>The size of the snapshot this replica holds (stored and sent to peers), 0 if none.</summary>
    public int SnapshotBytes => _snapshotData?.Length ?? 0;

    /// <summary>
    /// The host's copy of the snapshot at <paramref name="slot"/> now that it is durable (a view of its file, mapped):
    /// the replica sends peers chunks of it from then on and lets go of the memory it held (the shell frees memory it
    /// lent), one state-sized copy less for the life of the snapshot. Ignored, and false, unless it is the snapshot this
    /// replica holds, of the same size, and begins with the head this replica checked (configuration and state machine
    /// headers; one that does not was damaged on disk already: counted in <see cref="SnapshotHeadersDamaged"/>, and the
    /// memory is kept).
    /// </summary>
    public bool UseStoredSnapshot(long slot, ReadOnlyMemory<byte> stored)
    {
        if (slot != _snapshotSlot || _snapshotData is not { } held || held.Length != stored.Length)
        {
            return false;
        }

        if (_snapshotHeader is { } header && !stored.Span.StartsWith(header))
        {
            NoteSnapshotDamage("as its file holds it once written", "peers are sent the copy in memory");
            return false;
        }

        _snapshotData = stored;
        _snapshotLent = false;
        return true;
    }

    /// <summary>Collects what the shell must persist, send and apply since the last call.</summary>
    public Ready TakeReady()
    {
        ProposeRecovered();
        FlushProposals();
        FillTowardsPendingConfiguration();
        FlushReads();
        NotifyCommit();
        if (_commitIndex > _persistedCommitIndex)
        {
            _ready.PersistOps.Add(new CommitOp(_commitIndex));
            _persistedCommitIndex = _commitIndex;
        }

        EmitCommitted();
        _ready.ConfigurationOutcomes.AddRange(_configurationOutcomes);
        _configurationOutcomes.Clear();
        var ready = _ready;
        _ready = new Ready { Number = ready.Number + 1 };
        return ready;
    }

    private void Dispatch(Message message)
    {
        switch (message)
        {
            case Prepare prepare: OnPrepare(prepare); break;
            case Promise promise: OnPromise(promise); break;
            case Accept accept: OnAccept(accept); break;
            case Accepted accepted: OnAccepted(accepted); break;
            case Reject reject: OnReject(reject); break;
            case Heartbeat heartbeat: OnHeartbeat(heartbeat); break;
            case HeartbeatAck ack: OnHeartbeatAck(ack); break;
            case Commit commit: OnCommit(commit); break;
            case CatchUpRequest request: OnCatchUpRequest(request); break;
            case CatchUpReply reply: OnCatchUpReply(reply); break;
            case InstallSnapshot snapshot: OnInstallSnapshot(snapshot); break;
            case Forward forward: OnForward(forward); break;
            case ReadIndexRequest request: OnReadIndexRequest(request); break;
            case ReadIndexReply reply: OnReadIndexReply(reply); break;
            case PreVote preVote: OnPreVote(preVote); break;
            case PreVoteReply reply: OnPreVoteReply(reply); break;
            case VoterQuery query: OnVoterQuery(query); break;
            case VoterQueryReply reply: OnVoterQueryReply(reply); break;
            case Reballot reballot: OnReballot(reballot); break;
            case TimeoutNow timeoutNow: OnTimeoutNow(timeoutNow); break;
            default: throw new InvalidOperationException($"Replica {Id} got a message of unknown type {message.GetType().Name}.");
        }
    }

    /// <summary>
    /// Sends a message. Messages to this replica are handled here: requests at once, answers that carry a
    /// promise or an acceptance only once the Ready that persisted that promise is durable.
    /// </summary>
    private void Send(Message message)
    {
        if (message.To != Id)
        {
            _ready.Messages.Add(message);
        }
        else if (message is Promise or Accepted)
        {
            _selfInbox.Add((_ready.Number, message));
        }
        else
        {
            Dispatch(message);
        }
    }

    private void SendToPeers(Func<int, Message> make)
    {
        foreach (var member in _members)
        {
            if (member != Id)
            {
                _ready.Messages.Add(make(member));
            }
        }
    }

    private void SendToAll(Func<int, Message> make)
    {
        SendToPeers(make);
        Send(make(Id));
    }

    private void Restore(DurableState state)
    {
        _promised = state.Promised;
        foreach (var (replica, incarnation) in state.Incarnations)
        {
            _incarnations[replica] = incarnation;
        }
        _rebuilding = state.Rebuilding && (_options.Bugs & ProtocolBugs.VoteAfterDiskLoss) == 0;
        _queryRound = state.QueryRound;
        _maxRoundSeen = state.Promised.Round;
        _snapshotSlot = state.SnapshotSlot;
        _snapshotData = state.SnapshotData;
        _snapshotHeader = state.SnapshotData is { } recovered ? HeaderOf(recovered.Span) : null;
        _snapshotLent = false;
        ReadOnlyMemory<byte>? inner = null;
        if (_snapshotData is { } stored)
        {
            var unwrapped = UnwrapSnapshot(stored, out var problem) ??
                throw new InvalidOperationException($"Replica {Id} cannot restore its snapshot at slot {_snapshotSlot}: {problem}.");
            AdoptSnapshotConfigurations(unwrapped.Epochs);
            inner = unwrapped.Data;
        }

        foreach (var (slot, entry) in state.Entries)
        {
            _log[slot] = new LogEntry(entry.Ballot, entry.Commands, entry.Chosen);
            _maxLogSlot = Math.Max(_maxLogSlot, slot);
        }

        // The commit point on disk covers only slots whose values are on disk too; trust no more than that.
        _commitIndex = _snapshotSlot;
        while (_commitIndex < state.CommitIndex && _log.TryGetValue(_commitIndex + 1, out var next))
        {
            next.Chosen = true;
            CommitNextSlot();
        }

        AdvanceCommit();
        RefreshMembers();
        _persistedCommitIndex = _commitIndex;
        if (inner is not null)
        {
            _pendingSnapshot = new SnapshotToInstall(_snapshotSlot, inner.Value);
        }
    }
}
