using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// Everything between a replica's core and its shell, shared by the server and the simulator (etcd's node.go around
/// RawNode, without the goroutines): it owns the core <see cref="Replica"/> and the <see cref="KvStateMachine"/>,
/// carries out each Ready in the core's order (records durable before the messages that rest on them, then reported
/// persisted), applies what is chosen, answers the client requests waiting for it, proposes waiting writes again when
/// the leader changes, and decides when to snapshot. Synchronous and deterministic like the core: no threads,
/// sockets, clocks or files; the shell feeds it inputs on one thread and gives it a log, an outbox, a place for
/// background work and a listener. One driver serves one life of a replica: a restart builds a new one.
/// </summary>
public sealed partial class ReplicaDriver
{
    private readonly DriverOptions _options;
    private readonly IReplicaLog _log;
    private readonly IPeerOutbox _outbox;
    private readonly IBackgroundWork _background;
    private readonly IReplicaEvents _events;
    private readonly Queue<(Ready Ready, bool Synced)> _unsynced = new();
    private readonly Dictionary<(ulong ClientId, ulong Sequence), PendingWrite> _writeWaiters = [];
    private readonly Dictionary<long, PendingRead> _readWaiters = [];
    private readonly List<(long Index, PendingRead Read)> _readsAwaitingApply = [];
    private long _nextReadId;
    private int _lastLeaderSeen;
    private ReplicaRole _lastRole = ReplicaRole.Follower;
    private long _handoversGivenUpSeen;
    private long _failedCandidaciesSeen;

    public ReplicaDriver(
        ReplicaOptions coreOptions, DriverOptions options, IRandomSource random, DurableState state,
        IReplicaLog log, IPeerOutbox outbox, IBackgroundWork background, IReplicaEvents events)
    {
        _options = options;
        _log = log;
        _outbox = outbox;
        _background = background;
        _events = events;
        _nextReadId = options.FirstReadId;
        Core = new Replica(
            coreOptions with
            {
                SnapshotCheck = coreOptions.SnapshotCheck ?? SnapshotProblem,
                SnapshotShellHeadBytes = coreOptions.SnapshotShellHeadBytes == 0 ? KvStateMachine.SnapshotUncheckedBytes : coreOptions.SnapshotShellHeadBytes,
            },
            random,
            state);
        Kv = NewStateMachine();
    }

    public Replica Core { get; }

    /// <summary>The state machine; replaced when a snapshot from a peer is installed.</summary>
    public KvStateMachine Kv { get; private set; }

    /// <summary>The leader this replica heard within an election timeout (itself if it leads), 0 if none: a leader it no longer hears is not named to clients or in status.</summary>
    public int KnownLeaderId => Core.KnowsLiveLeader ? Core.LeaderId ?? 0 : 0;

    /// <summary>Client writes waiting for their slot to be applied (distinct client id and sequence).</summary>
    public int WritesWaiting => _writeWaiters.Count;

    /// <summary>Client reads waiting for a leader's confirmation or for their index to be applied.</summary>
    public int ReadsWaiting => _readWaiters.Count + _readsAwaitingApply.Count;

    /// <summary>
    /// Client requests still waiting for an answer whose caller has not given up: writes, reads and membership changes
    /// (what a stopping replica waits for; abandoned ones are swept later and need no answer).
    /// </summary>
    public int RequestsAwaitingAnswer =>
        _writeWaiters.Values.Count(w => w.IsWaited) + _readWaiters.Values.Count(r => !r.Abandoned) + _readsAwaitingApply.Count(r => !r.Read.Abandoned) +
        MembershipRequestsAwaitingAnswer;

    /// <summary>One tick of the shell's clock.</summary>
    public void Tick()
    {
        Core.Tick();
        if (Core.CurrentTick % _options.WaiterCleanupEveryTicks == 0)
        {
            DropAbandonedWaiters();
            DropAbandonedMembershipWaiters();
        }

        if (Core.CurrentTick % _options.LeaseCheckEveryTicks == 0)
        {
            MaybeServeLeases(checkDeadlines: true);
        }

        PumpWatchers(tick: true);
    }

    /// <summary>A peer's message (the shell has checked it is addressed here).</summary>
    public void Step(Message message) => Core.Step(message);

    /// <summary>
    /// A client's write: <paramref name="command"/> is the encoded <see cref="KvCommand"/> with this client id and
    /// sequence. A retry of a write still waiting joins it rather than proposing it twice from here; a different write
    /// under the same client id and sequence does not.
    /// </summary>
    public void Write(ulong clientId, ulong sequence, byte[] command, IAnswer<WriteOutcome> answer)
    {
        var key = (clientId, sequence);
        var waiting = _writeWaiters.TryGetValue(key, out var write);
        if (waiting && !write!.Command.AsSpan().SequenceEqual(command))
        {
            // Not a retry (a client's bug, or another user's request under this client id): answered with the waiting
            // write's outcome, it would learn what only that write's user may read (a transaction's reads).
            answer.Fail(ReplicaFailure.SequenceInUse);
            return;
        }

        if (!Core.KnowsLiveLeader || (Core.Removed && !waiting))
        {
            if (waiting)
            {
                // An earlier copy was proposed from here and may yet be chosen: "nothing was proposed" would be false.
                // The retry waits with it (and is answered with it, or gives up at its deadline).
                write!.Waiters.RemoveAll(w => w.Abandoned);
                write.Waiters.Add(answer);
                write.JoinedTick = Core.CurrentTick;
                return;
            }

            // Nothing is proposed, so the client knows this attempt did not take effect and may retry elsewhere at once.
            answer.Fail(ReplicaFailure.NoLeader);
            return;
        }

        if ((Core.Options.Bugs & (ProtocolBugs.CompareAtProposal | ProtocolBugs.TxnCompareAtProposal)) != 0 && CompareHereFirst(ref command, answer))
        {
            return;
        }

        long reserved = 0;
        if (!waiting && !Kv.HasApplied(clientId, sequence) && JudgeQuota(command, out reserved) is { } refused)
        {
            // Judged before the log: nothing is proposed, so the client knows this attempt took no effect.
            if (refused == ReplicaFailure.NoSpace)
            {
                QuotaRefusals++;
            }

            answer.Fail(refused);
            return;
        }

        if (!waiting)
        {
            _writeWaiters[key] = write = new PendingWrite(command, Core.CurrentTick) { QuotaReserved = reserved };
            QuotaReserved += reserved;
        }

        write!.Waiters.RemoveAll(w => w.Abandoned);
        write.Waiters.Add(answer);
        write.JoinedTick = Core.CurrentTick;
        Core.Propose(command);
        if ((Core.Options.Bugs & ProtocolBugs.AnswerWriteOnPropose) != 0 && clientId != 0)
        {
            // The bug: the client hears "done" for a write that may never be chosen.
            ForgetWrite(key);
            answer.Complete(new WriteOutcome(KvStatus.Ok, Kv.AppliedSlot, Duplicate: false));
        }
    }

    /// <summary>Whether a write under this client id and sequence waits here (a retry of it joins it rather than being judged again).</summary>
    public bool IsWaiting(ulong clientId, ulong sequence) => _writeWaiters.ContainsKey((clientId, sequence));

    /// <summary>Writes refused because they would take the data past the write quota (<see cref="ReplicaFailure.NoSpace"/>).</summary>
    public long QuotaRefusals { get; private set; }

    /// <summary>
    /// The growth of the writes proposed from here and not yet applied (nor given up): the quota judges a write against
    /// the data applied plus these, so that writes admitted together cannot pass it together.
    /// </summary>
    public long QuotaReserved { get; private set; }

    /// <summary>
    /// Whether this replica lags too far to judge the quota: its applied state is more than
    /// <see cref="DriverOptions.QuotaLagSlotsMax"/> slots behind what it knows chosen, or the slots it has still to apply
    /// could hold more growth (<see cref="SlotGrowthBytesMax"/> each) than the room left under the quota, so near the
    /// quota only a replica that has applied all it knows chosen judges. A follower measures from the commit index its
    /// leader last sent (only the leader's counts: a member that is not leading cannot hold writes back); a leader, just
    /// elected, from the last slot its phase 1 recovers (slots below it may be chosen that it has not applied) — not from
    /// its commit index, which runs ahead of its applied slot within every pass (an acknowledgement moves it at once, the
    /// slot is applied at the end of the pass) while what it stands for is this leader's own proposals, reserved here, or
    /// followers' forwarded ones, reserved there.
    /// </summary>
    public bool QuotaLagging
    {
        get
        {
            long known;
            if (Core.Role == ReplicaRole.Leader)
            {
                known = Core.RecoveryEnd;
            }
            else if (Core.KnowsLiveLeader && Core.LeaderId is int leader)
            {
                known = Core.PeerCommitIndex(leader);
            }
            else
            {
                return false;
            }

            var lag = known - Kv.AppliedSlot;
            var room = _options.QuotaBytes - Kv.DataBytes - QuotaReserved;
            return lag > 0 && (lag > _options.QuotaLagSlotsMax || lag > room / SlotGrowthBytesMax);
        }
    }

    /// <summary>The most one slot can grow the data by, about: a full batch and one more command, each byte counted twice (a leased key's).</summary>
    private long SlotGrowthBytesMax => 2L * (Core.Options.BatchBytesMax + KvLimits.TxnBytesMax + KvLimits.KeyBytesMax);

    /// <summary>
    /// Why <paramref name="command"/> may not be proposed for the write quota, or null: <see cref="ReplicaFailure.NoSpace"/>
    /// when it would take the data applied here, with <see cref="QuotaReserved"/>, past <see cref="DriverOptions.QuotaBytes"/>;
    /// <see cref="ReplicaFailure.CatchingUp"/> when it grows the data and this replica lags too far to judge
    /// (<see cref="QuotaLagging"/>). <paramref name="reserved"/> is what an admitted write holds back until it is applied.
    /// Decoded only near the quota or while lagging, so writes far below it cost one comparison and reserve an upper bound
    /// of their growth (their encoding, its keys again, and per put a key's overhead and a leased key's); near it, exactly
    /// their growth.
    /// </summary>
    private ReplicaFailure? JudgeQuota(byte[] command, out long reserved)
    {
        // An upper bound of the growth without decoding: every key and value byte is in the encoding, and only keys count
        // twice (a leased key; at most KeyBytesMax each), with a key's overhead and a leased key's for each put (one, or a
        // branch of a transaction).
        var puts = KvCommand.IsTxn(command) ? KvLimits.TxnOpsMax : 1;
        reserved = command.Length + Math.Min(command.Length, (long)KvLimits.KeyBytesMax * puts) + ((long)(KvStateMachine.KeyOverheadBytes + 2) * puts);
        var lagging = QuotaLagging;
        var used = Kv.DataBytes + QuotaReserved;
        if ((!lagging && used + reserved <= _options.QuotaBytes) || (Core.Options.Bugs & ProtocolBugs.QuotaIgnored) != 0)
        {
            return null;
        }

        long growth;
        try
        {
            growth = Kv.GrowthOf(KvCommand.Decode(command));
        }
        catch (KvFormatException)
        {
            // Bytes that do not decode are the state machine's to refuse, as every replica does (KvStatus.Invalid).
            return null;
        }

        reserved = Math.Max(0, growth);
        return growth <= 0 ? null
            : lagging ? ReplicaFailure.CatchingUp
            : used + growth > _options.QuotaBytes ? ReplicaFailure.NoSpace
            : null;
    }

    /// <summary>Drops a waiting write, releasing what it reserved of the quota.</summary>
    private void ForgetWrite((ulong ClientId, ulong Sequence) key)
    {
        if (_writeWaiters.Remove(key, out var write))
        {
            QuotaReserved -= write.QuotaReserved;
        }
    }

    /// <summary>
    /// The bugs <see cref="ProtocolBugs.CompareAtProposal"/> and <see cref="ProtocolBugs.TxnCompareAtProposal"/>: a
    /// conditional write's compare (a transaction's compares) is evaluated here, against what this replica has applied,
    /// and the write goes on without it. True when it was answered here.
    /// </summary>
    private bool CompareHereFirst(ref byte[] command, IAnswer<WriteOutcome> answer)
    {
        KvCommand decoded;
        try
        {
            decoded = KvCommand.Decode(command);
        }
        catch (KvFormatException)
        {
            return false;
        }

        if (decoded.Txn is { } txn)
        {
            if ((Core.Options.Bugs & ProtocolBugs.TxnCompareAtProposal) == 0)
            {
                return false;
            }

            // The same bug for a transaction: its compares decided here, its branch proposed without them.
            var holds = txn.Compares.All(compare => compare.Condition.Holds(Lookup(compare.Key)));
            command = (decoded with { Txn = new KvTxn([], holds ? txn.Success : txn.Failure, []) }).Encode();
            return false;
        }

        if (decoded.Condition is not { } condition || (Core.Options.Bugs & ProtocolBugs.CompareAtProposal) == 0)
        {
            return false;
        }

        var current = Lookup(decoded.Key);
        if (!condition.Holds(current))
        {
            answer.Complete(new WriteOutcome(KvStatus.CompareFailed, Kv.AppliedSlot, Duplicate: false, Revision: Kv.Revision, Entry: current));
            return true;
        }

        command = (decoded with { Condition = null }).Encode();
        return false;
    }

    /// <summary>A client's read of one key: a stale one is answered at once from what is applied; others wait for a read index.</summary>
    /// <param name="revision">The revision to read at (0: the current one); a past one must lie in the history window.</param>
    public void Read(byte[] key, bool stale, IAnswer<ReadOutcome> answer, long revision = 0) => Read(new PendingRead.OfKey(key, revision, answer), stale);

    /// <summary>A client's range read, answered like <see cref="Read(byte[], bool, IAnswer{ReadOutcome}, long)"/>.</summary>
    public void Range(KvRange range, bool stale, IAnswer<RangeOutcome> answer, long revision = 0) =>
        Read(new PendingRead.OfRange(range, revision, answer), stale || (Core.Options.Bugs & ProtocolBugs.RangeWithoutReadIndex) != 0);

    private void Read(PendingRead read, bool stale)
    {
        if (stale || (Core.Options.Bugs & ProtocolBugs.ReadWithoutReadIndex) != 0)
        {
            read.Answer(Kv, Math.Max(0, Core.HighestKnownCommit - Kv.AppliedSlot));
            return;
        }

        if (!Core.KnowsLiveLeader || Core.Removed)
        {
            // A removed replica is told nothing more, so it could never apply as far as a read index: the client goes
            // to another replica at once.
            read.Fail(ReplicaFailure.NoLeader);
            return;
        }

        var readId = ++_nextReadId;
        read.SinceTick = Core.CurrentTick;
        _readWaiters[readId] = read;
        Core.RequestRead(readId);
    }

    /// <summary>
    /// Carries out what the core has to say until it has nothing more, or must wait for a sync: each Ready is applied,
    /// its records written, and once they are durable its messages sent and the core told. Call it after inputs (the
    /// server after a batch of them, so that one Ready and one sync cover many: group commit).
    /// </summary>
    public void Process()
    {
        ProcessReadies();
        FreeLentSnapshots();
    }

    private void ProcessReadies()
    {
        if (_log.TakeStoredSnapshot() is { } stored)
        {
            Core.UseStoredSnapshot(stored.Slot, stored.Data);
        }

        NoteLeaderAndRole();
        NoteHandoverEnded();
        while (true)
        {
            var ready = Core.TakeReady();
            if (ready.IsEmpty && Core.SelfMessagesWaiting == 0)
            {
                return;
            }

            if (ready.Snapshot is { } install && ready.PersistOps.Find(op => op is SnapshotOp { } held && held.Slot == install.Slot) is SnapshotOp installed)
            {
                // Its file is written beside the restore (a second or two at a million keys) instead of after it.
                _log.PrepareInstall(installed);
            }

            Apply(ready);
            if ((Core.Options.Bugs & ProtocolBugs.AckBeforePersist) != 0)
            {
                // The bug: answer first, make it durable later.
                _outbox.Send(ready.Messages);
                _log.Write(ready.PersistOps, null);
                _snapshotNotYetLogged = false;
                Core.Persisted(ready.Number);
                continue;
            }

            // Records of what is already chosen are written but need no sync before the messages (Ready.MustSyncBeforeSending).
            var synced = ready.PersistOps.Count == 0 || _log.Write(ready.PersistOps, ready.MustSyncBeforeSending ? ready.Number : null);
            _snapshotNotYetLogged = false;
            _unsynced.Enqueue((ready, synced || !ready.MustSyncBeforeSending));
            // Go on while a pass changes something: a Ready with work, or messages to itself handled (each may lead
            // to more). Their count alone cannot tell: handling the leader's own Accept queues its own Accepted, so a
            // lone replica's count stayed at 1 and the loop stopped with the command a tick short of being chosen.
            var deliveredBefore = Core.SelfMessagesDelivered;
            ReleaseSynced();
            if (ready.IsEmpty && Core.SelfMessagesDelivered == deliveredBefore)
            {
                return;
            }
        }
    }

    /// <summary>The records of the Ready numbered <paramref name="syncToken"/> are durable (a sync the log finished later).</summary>
    public void Synced(long syncToken)
    {
        var count = _unsynced.Count;
        for (var i = 0; i < count; i++)
        {
            var entry = _unsynced.Dequeue();
            _unsynced.Enqueue(entry.Ready.Number == syncToken ? (entry.Ready, true) : entry);
        }

        ReleaseSynced();
        Process();
    }

    /// <summary>Sends the messages of every durable Ready at the head of the queue, in order, and reports them persisted.</summary>
    private void ReleaseSynced()
    {
        while (_unsynced.Count > 0 && _unsynced.Peek().Synced)
        {
            var (ready, _) = _unsynced.Dequeue();
            _outbox.Send(ready.Messages);
            Core.Persisted(ready.Number);
        }
    }

    /// <summary>
    /// A write forwarded to a leader that then died or was deposed is lost with it; its client would wait for its
    /// attempt deadline. When a new leader appears, propose every waiting write again (forwarded to it, or chosen here
    /// if this replica leads). Exactly-once sessions make a second copy harmless: the state machine answers a repeat
    /// of a client's latest write with the first result and refuses an older one as stale. Registrations have no
    /// session yet, so they are not proposed again: a lost one is retried by its client when its attempt times out.
    /// </summary>
    private void NoteLeaderAndRole()
    {
        if (Core.Role != _lastRole)
        {
            _lastRole = Core.Role;
            _events.RoleChanged(Core.Role);
        }

        if (Core.HandoversGivenUp != _handoversGivenUpSeen)
        {
            _handoversGivenUpSeen = Core.HandoversGivenUp;
            _events.Handover(started: false, Core.LastHandoverFailure ?? "a handover was given up");
        }

        if (Core.FailedCandidacies != _failedCandidaciesSeen)
        {
            _failedCandidaciesSeen = Core.FailedCandidacies;
            _events.CandidacyFailed(Core.LastCandidacyFailure ?? "a candidacy failed");
        }

        var leader = Core.LeaderId ?? 0;
        if (leader == 0 || leader == _lastLeaderSeen)
        {
            return;
        }

        var first = _lastLeaderSeen == 0;
        _lastLeaderSeen = leader;
        if (first)
        {
            return;
        }

        // Likewise a read whose index was asked of a leader that then stood down (a handover, an election) would wait for
        // its deadline: ask the new leader. Either answer is a read index confirmed after the read began; the first wins.
        foreach (var (readId, read) in _readWaiters)
        {
            if (!read.Abandoned)
            {
                Core.RequestRead(readId);
            }
        }

        foreach (var ((clientId, _), write) in _writeWaiters)
        {
            // Not a registration (client id 0): the state machine does not recognise a second copy of one, and would
            // assign a second client id (evicting another client's session) if the first copy was chosen unseen.
            if (clientId != 0 && write.IsWaited)
            {
                Core.Propose(write.Command);
            }
        }
    }

    /// <summary>
    /// Requests that gave up (deadline passed) leave their waiters behind; sweep them now and then, with every request
    /// that waited longer than <see cref="DriverOptions.WaiterTicksMax"/> (its shell should have given up on it).
    /// </summary>
    private void DropAbandonedWaiters()
    {
        var oldest = Core.CurrentTick - _options.WaiterTicksMax;
        foreach (var key in _writeWaiters.Keys.ToList())
        {
            var write = _writeWaiters[key];
            write.Waiters.RemoveAll(w => w.Abandoned);
            if (write.Waiters.Count == 0 || write.JoinedTick < oldest)
            {
                ForgetWrite(key);
            }
        }

        bool Gone(PendingRead read) => read.Abandoned || read.SinceTick < oldest;
        foreach (var readId in _readWaiters.Where(r => Gone(r.Value)).Select(r => r.Key).ToList())
        {
            _readWaiters.Remove(readId);
        }

        _readsAwaitingApply.RemoveAll(r => Gone(r.Read));
    }

    private KvBugs KvBugs => KvBugsOf(Core.Options.Bugs);

    /// <summary>The state machine's bugs among the protocol's: the session rule and when revisions start live there.</summary>
    private static KvBugs KvBugsOf(ProtocolBugs bugs) =>
        ((bugs & ProtocolBugs.FirstWriteOpensSession) != 0 ? KvBugs.FirstWriteOpensSession : KvBugs.None)
        | ((bugs & ProtocolBugs.RevisionsStartAtRestore) != 0 ? KvBugs.RevisionsStartAtRestore : KvBugs.None)
        | ((bugs & ProtocolBugs.HistoryUndoesOneTooMany) != 0 ? KvBugs.HistoryUndoesOneTooMany : KvBugs.None)
        | ((bugs & ProtocolBugs.PermissionsIgnored) != 0 ? KvBugs.PermissionsIgnored : KvBugs.None)
        | ((bugs & ProtocolBugs.SnapshotDropsAuth) != 0 ? KvBugs.SnapshotDropsAuth : KvBugs.None)
        | ((bugs & ProtocolBugs.OldCommandsByOldestRules) != 0 ? KvBugs.OldCommandsByOldestRules : KvBugs.None)
        | ((bugs & ProtocolBugs.RestoredValuesMovedWrong) != 0 ? KvBugs.RestoredValuesMovedWrong : KvBugs.None);

    private KvStateMachine NewStateMachine() => new(_options.SessionsMax, KvBugs, _options.History);

    /// <summary>The core's <see cref="ReplicaOptions.SnapshotCheck"/>: the state machine's header and checksum.</summary>
    private static string? SnapshotProblem(ReadOnlyMemory<byte> snapshot) => KvStateMachine.SnapshotProblem(snapshot.Span);

    private KvEntry? Lookup(byte[] key) => Kv.TryGetEntry(key, out var entry) ? entry : null;
}
