using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Driver;
using Synod.Storage;

namespace Synod.Server;

/// <summary>
/// The server's shell around a <see cref="ReplicaDriver"/>, the one owner of the replica's core and state machine.
/// gRPC handlers and the tick timer only post inputs to one channel; this loop drains what is waiting into the driver,
/// which steps the core and carries out its Readies through this shell: the WAL (one fsync covers everything drained:
/// group commit), the peer links, a pool thread for snapshots, and the answers, delivered once the pass is done.
/// </summary>
public sealed partial class ReplicaHost : IAsyncDisposable, IReplicaLog, IPeerOutbox, IBackgroundWork, IReplicaEvents
{
    /// <summary>Inputs handled before the core is asked for a Ready, so that a busy loop batches many commands into one slot.</summary>
    private const int DrainInputsMax = 4096;

    /// <summary>Ticks posted at once after a stall; a longer stall is forgotten rather than replayed in a burst.</summary>
    private const int TicksCatchUpMax = 50;

    /// <summary>Peer messages waiting for the loop; more are dropped (Paxos tolerates a lost message, and peers retransmit).</summary>
    private const int PeerInputsWaitingMax = 65_536;

    /// <summary>Refused peer messages are counted into the log this often (in ticks) when no peer message arrives.</summary>
    private const int RefusalLogEveryTicks = 500;

    /// <summary>At most one log line about refused peer messages per this interval, so a flood cannot flood the log.</summary>
    private const int RefusalLogIntervalMs = 10_000;

    private long _refusalsLogged;
    private long _refusedAtReceiver;
    private long _refusalLoggedAtMs = long.MinValue / 2;

    private long _damageLogged;

    private long _damageLoggedAtMs = long.MinValue / 2;

    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    // One unbounded channel keeps inputs in arrival order; clients are bounded by _clientSlots (they wait for room)
    // and peers by _peerInputsWaiting (their messages are dropped when too many wait), so a flood of clients can
    // neither push out the ticks that keep leadership alive nor starve peer messages.
    private readonly Channel<HostInput> _inputs;
    private readonly SemaphoreSlim _clientSlots;
    private int _peerInputsWaiting;
    private readonly ReplicaStorage _storage;
    private readonly PeerLinks _peers;
    private readonly ReplicaDriver _driver;
    private readonly RestoredAhead _restoredAhead;
    private Task? _loop;
    private Task? _ticker;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private uint _knownLeaderId;

    /// <summary>This replica's instruments (the /metrics endpoint exports them).</summary>
    public ReplicaMetrics Metrics { get; }

    /// <summary>The deadlines of clients' requests waiting here, shared by due time.</summary>
    internal RequestDeadlines Deadlines { get; } = new();

    /// <summary>Peers' frames into messages, a snapshot's chunks into arrays of its pool, which the owner loop gives back.</summary>
    internal PeerFrameDecoder Frames { get; }

    public ReplicaHost(ServerOptions options, ILoggerFactory loggers)
    {
        _options = options;
        WatchBytes = new WatchBytes(options.WatchBytesMax);
        _logger = loggers.CreateLogger($"replica-{options.Id}");
        Metrics = new ReplicaMetrics(options.Id);
        _inputs = Channel.CreateUnbounded<HostInput>(new UnboundedChannelOptions { SingleReader = true });
        _clientSlots = new SemaphoreSlim(options.InputQueueMax, options.InputQueueMax);
        var replicaOptions = options.ToReplicaOptions();
        Frames = new PeerFrameDecoder(replicaOptions.SnapshotChunkBytes);
        var driverOptions = options.ToDriverOptions();
        var restoredAhead = _restoredAhead = new RestoredAhead();
        _storage = ReplicaStorage.Open(new RealDisk(), options.DataDir, options.Id, options.OpenMode, options.Storage,
            message => _logger.LogWarning("replica {Id}: {Message}", options.Id, message), options.ClusterId,
            stored => RestoreAhead(restoredAhead, stored, driverOptions, replicaOptions.Bugs));
        try
        {
            if (_storage.State.SnapshotData is { } snapshot)
            {
                try
                {
                    // The stored snapshot starts with the configurations that govern the slots after it (the core's
                    // envelope); the state machine's own header follows them.
                    Synod.Kv.KvStateMachine.CheckFormat(Synod.Core.Replica.SnapshotShellBytes(snapshot.Span));
                }
                catch (Synod.Kv.KvFormatException e)
                {
                    throw new InvalidDataException($"{options.DataDir}: {e.Message}");
                }
            }

            // From the OS's entropy: the first round of a rebuild after a disk loss is drawn from it (I18), and the time
            // since boot repeats after a reboot.
            var seed = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
            _driver = new ReplicaDriver(replicaOptions, driverOptions with { RestoredAhead = restoredAhead }, new SeededRandom(seed), _storage.State, this, this, this, this);
            _storage.ForgetRecoveredData();
            _auth = _driver.Kv.Auth;
            LeaseTtlSecondsMin = _driver.LeaseTtlSecondsMin;
            _peers = new PeerLinks(options, this, loggers);
        }
        catch
        {
            // Release the data directory's lock, so that a corrected start is not refused as "in use".
            _storage.Dispose();
            throw;
        }

        _logger.LogInformation("replica {Id}: recovered promise {Promised}, commit index {Commit}, snapshot at slot {Snapshot} from {Dir} ({Segments} log segments, {Bytes} bytes){Rebuilding}",
            options.Id, _driver.Core.Promised, _driver.Core.CommitIndex, _driver.Core.SnapshotSlot, options.DataDir, _storage.SegmentCount, _storage.WalBytes,
            _driver.Core.Rebuilding ? "; rebuilding from peers: a non-voter until caught up" : "");
    }

    public int Id => _options.Id;

    /// <summary>The leader this replica knows, 0 if none; published by the owner loop for the client answers' hint.</summary>
    public uint KnownLeaderId => Volatile.Read(ref _knownLeaderId);

    /// <summary>Users, roles and whether authentication is on, as this replica has applied them (published by the owner loop).</summary>
    public Synod.Kv.KvAuth Auth => Volatile.Read(ref _auth);

    /// <summary>
    /// False until the owner loop's first pass has loaded the replica's state (snapshot and log): until then
    /// <see cref="Auth"/> may say authentication is off when it is on, so requests are not judged by it.
    /// </summary>
    public bool StateLoaded => Volatile.Read(ref _stateLoaded);

    private bool _stateLoaded;

    private Synod.Kv.KvAuth _auth = Synod.Kv.KvAuth.Empty;

    /// <summary>The shortest TTL a lease may be granted here, in seconds (fixed at start).</summary>
    public long LeaseTtlSecondsMin { get; }

    /// <summary>Watch messages of recent changes, shared by every stream (owner loop only).</summary>
    internal WatchEventCache WatchEvents { get; } = new();

    /// <summary>The bytes all watch streams have queued, bounded by ServerOptions.WatchBytesMax.</summary>
    internal WatchBytes WatchBytes { get; }

    public void Start()
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _ticker = Task.Run(() => TickAsync(_stopping.Token), CancellationToken.None);
        _peers.Start(_stopping.Token);
    }

    /// <summary>A peer's message the receiver dropped under the peer message rules before it reached the core.</summary>
    internal void NoteRefusedPeerMessage() => Interlocked.Increment(ref _refusedAtReceiver);

    /// <summary>Posts a peer's message; dropped when too many wait already (Paxos tolerates a lost message).</summary>
    internal void PostFromPeer(HostInput input)
    {
        if (Interlocked.Increment(ref _peerInputsWaiting) > PeerInputsWaitingMax || !_inputs.Writer.TryWrite(input))
        {
            Interlocked.Decrement(ref _peerInputsWaiting);
            Frames.GiveBack((input as PeerInput)?.Lent);
        }
    }

    /// <summary>
    /// Posts a client's request, waiting while InputQueueMax requests are queued already, until <paramref name="due"/>
    /// or until the caller goes away (<paramref name="callerGone"/>): a request whose caller left is not posted.
    /// </summary>
    internal async ValueTask PostAsync(ClientInput input, CancellationToken due, CancellationToken callerGone)
    {
        if (!_clientSlots.Wait(0))
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(due, callerGone);
            await _clientSlots.WaitAsync(either.Token);
        }

        if (callerGone.IsCancellationRequested)
        {
            _clientSlots.Release();
            throw new OperationCanceledException("The request was given up before it was posted.", callerGone);
        }

        if (!_inputs.Writer.TryWrite(input))
        {
            _clientSlots.Release();
            throw new OperationCanceledException("The replica is stopping.");
        }
    }

    /// <summary>Posts a client's request, waiting while InputQueueMax requests are queued already, until <paramref name="cancellation"/>.</summary>
    internal ValueTask PostAsync(ClientInput input, CancellationToken cancellation) => PostAsync(input, CancellationToken.None, cancellation);

    /// <summary>
    /// Posts that a watch stream ended, without waiting for a client slot: its watchers must end even when every slot is
    /// taken, or they would hold memory and owner-loop time for a client that is gone.
    /// </summary>
    internal void PostWatchClosed(WatchStream stream) => _inputs.Writer.TryWrite(new WatchClosedInput(stream));

    public async Task<HostStatus> StatusAsync(CancellationToken cancellation)
    {
        var completion = NewCompletion<HostStatus>();
        await PostAsync(new StatusInput(completion), cancellation);
        return await completion.Task.WaitAsync(cancellation);
    }

    internal static TaskCompletionSource<T> NewCompletion<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// A completion for a client's write or read. The owner loop completes it in <see cref="DeliverAnswers"/>: at once,
    /// on its own thread, when only a few answers are due, and through the thread pool otherwise.
    /// </summary>
    internal static TaskCompletionSource<T> NewAnswerCompletion<T>() => new();

    /// <summary>
    /// Answers finished in one pass of the loop up to this many are sent from the loop's own thread, which saves the
    /// hand-off to a pool thread (about 0.1 ms on a small VM) when the load is light; more go through the thread
    /// pool, so that a busy loop never writes hundreds of responses itself.
    /// </summary>
    private const int InlineAnswersMax = 2;

    private readonly List<IThreadPoolWorkItem> _answersDue = [];

    /// <summary>Queues a completion to run once this pass of the loop is done (its messages sent, its records written).</summary>
    internal void AnswerLater(IThreadPoolWorkItem answer) => _answersDue.Add(answer);

    /// <inheritdoc cref="AnswerLater(IThreadPoolWorkItem)"/>
    internal void AnswerLater(Action answer) => _answersDue.Add(new ActionAnswer(answer));

    /// <summary>A failure's answer (rare): the completion to run, as a work item of the pool.</summary>
    private sealed class ActionAnswer(Action answer) : IThreadPoolWorkItem
    {
        public void Execute() => answer();
    }

    /// <summary>Completes the answers of this pass, after its messages left and its disk writes were made.</summary>
    private void DeliverAnswers()
    {
        if (_answersDue.Count <= InlineAnswersMax)
        {
            foreach (var answer in _answersDue)
            {
                answer.Execute();
            }
        }
        else
        {
            foreach (var answer in _answersDue)
            {
                ThreadPool.UnsafeQueueUserWorkItem(answer, preferLocal: false);
            }
        }

        _answersDue.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _peersClosing.CancelAsync();
        _inputs.Writer.TryComplete();
        foreach (var task in new[] { _loop, _ticker })
        {
            if (task is not null)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await _peers.DisposeAsync();
        if (_snapshotWriting is not null)
        {
            // The write catches its own failures; wait for it so the storage is not closed under it.
            await _snapshotWriting;
        }

        if (_installWriting is not null)
        {
            await _installWriting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_cleanupRunning is not null)
        {
            await _cleanupRunning;
        }

        _storage.Dispose();
        _driver.FreeSnapshotMemory();
        _stopping.Dispose();
        // _peersClosing is not disposed: Kestrel's connection code may still read its token after this (it has no timer to free).
        Metrics.Dispose();
    }

    private async Task TickAsync(CancellationToken cancellation)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.TickMs));
        var started = TimeProvider.System.GetTimestamp();
        long posted = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellation))
            {
                // Post as many ticks as real time has passed, so a replica slowed down (JIT, a busy machine) keeps
                // the same sense of time as its peers; a late timer must not stretch every timeout.
                var due = (long)(TimeProvider.System.GetElapsedTime(started).TotalMilliseconds / _options.TickMs);
                for (var catchUp = 0; posted < due && catchUp < TicksCatchUpMax; catchUp++, posted++)
                {
                    _inputs.Writer.TryWrite(TickInput.Instance);
                }

                posted = Math.Max(posted, due - TicksCatchUpMax);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Starts restoring the state machine from a stored snapshot (with the core's configuration header) on a thread of
    /// its own, while the log is read and the server starts, and offers it to the driver's first install. Not for a
    /// snapshot of the format this build refuses (the constructor says why, before anything parses its body). A start
    /// that fails after this leaves the restore running until it ends; the process is exiting then.
    /// </summary>
    internal static void RestoreAhead(RestoredAhead restoredAhead, ReadOnlyMemory<byte> stored, DriverOptions driverOptions, ProtocolBugs bugs)
    {
        var data = Replica.SnapshotShell(stored);
        try
        {
            Synod.Kv.KvStateMachine.CheckFormat(data.Span);
        }
        catch (Synod.Kv.KvFormatException)
        {
            return;
        }

        // Its own thread rather than the pool's: the pool's few threads start the server's listeners meanwhile.
        var restoring = Task.Factory.StartNew(
            () => ReplicaDriver.RestoreStateMachine(data, driverOptions, bugs), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        restoredAhead.Offer(data, () => restoring.GetAwaiter().GetResult());
    }

    /// <summary>
    /// The owner loop's first pass: the state machine restored from the snapshot and the log after it applied, before
    /// anything is served. Logged with its time, since at millions of keys it is most of a restart.
    /// </summary>
    private void LoadState()
    {
        var started = TimeProvider.System.GetTimestamp();
        var snapshotSlot = _driver.Core.SnapshotSlot;
        Process();
        var snapshot = snapshotSlot == 0 ? "no snapshot"
            : $"the snapshot at slot {snapshotSlot} restored{(_restoredAhead.Taken ? " while the log was read" : "")}";
        _logger.LogInformation(
            "replica {Id}: state loaded in {Seconds:F1} s: {Snapshot}, the log applied up to slot {Applied} ({Slots} slots)",
            Id, TimeProvider.System.GetElapsedTime(started).TotalSeconds, snapshot, _driver.Kv.AppliedSlot, _driver.Kv.AppliedSlot - snapshotSlot);
    }

    private async Task RunAsync(CancellationToken cancellation)
    {
        try
        {
            LoadState();
            while (await _inputs.Reader.WaitToReadAsync(cancellation))
            {
                var pass = LoopPass.Start();
                var handled = 0;
                for (; handled < DrainInputsMax && _inputs.Reader.TryRead(out var input); handled++)
                {
                    var inputStarted = TimeProvider.System.GetTimestamp();
                    Handle(input);
                    pass.Handled(input, inputStarted);
                }

                pass.Processing();
                Process();
                pass.Delivering();
                FollowMembership();
                DeliverAnswers();
                NotePass(pass.End(handled));
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (InvariantViolationException e)
        {
            // One line that says which rule broke and where; the state cannot be trusted, so nothing more is served.
            _logger.LogCritical("replica {Id}: {Violation}; stopping the process.", Id, e.Message);
            Environment.FailFast($"Synod replica {Id}: {e.Message}");
        }
        catch (Exception e)
        {
            // A failed disk or another fault of the loop: stop the process rather than serve from a state we cannot trust.
            _logger.LogCritical(e, "replica {Id}: the owner loop failed; stopping the process.", Id);
            Environment.FailFast($"Synod replica {Id}: owner loop failed: {e.Message}", e);
        }
    }

    private void Handle(HostInput input)
    {
        if (input is PeerInput)
        {
            Interlocked.Decrement(ref _peerInputsWaiting);
        }
        else if (input is ClientInput)
        {
            // Every client input took a slot in PostAsync; a stream's close did not (PostWatchClosed).
            _clientSlots.Release();
        }

        switch (input)
        {
            case PeerInput peer:
                if (peer.Message.To == Id)
                {
                    _driver.Step(peer.Message);
                    LogRefusals();
                    LogSnapshotDamage();
                    if (peer.Message is InstallSnapshot)
                    {
                        LogSnapshotTransfer();
                    }
                }

                // The core copied a snapshot chunk into its transfer, or dropped it: the array goes back to the pool.
                Frames.GiveBack(peer.Lent);
                break;
            case TickInput:
                _driver.Tick();
                SyncForCleanupWhenIdle();
                if (_driver.Core.CurrentTick % Math.Max(1, ReplicaMetrics.GaugeViewEveryMs / _options.TickMs) == 0)
                {
                    Metrics.Publish(Snapshot(), PeerViews(), new CoreCounters(_driver.Core.SlotsProposed, _driver.Core.ReadRoundsStarted,
                        _driver.Core.ExpiredProposals, _driver.Core.HandoversStarted, _driver.Core.HandoversGivenUp, _driver.Core.PreferredHandovers,
                        _driver.Core.PreferredHandoversFailed, _driver.Core.SnapshotsRefused, _driver.QuotaRefusals, _driver.Core.SnapshotHeadersDamaged));
                }

                if (_driver.Core.CurrentTick % RefusalLogEveryTicks == 0)
                {
                    LogRefusals();
                    LogSnapshotDamage();
                }

                LogSnapshotTransfer();
                break;
            case ProposeInput propose:
                _driver.Write(propose.ClientId, propose.Sequence, propose.Command, new TaskAnswer<WriteOutcome>(this, propose.Completion, Metrics));
                break;
            case ReadInput read:
                _driver.Read(read.Key, read.Stale, new TaskAnswer<ReadOutcome>(this, read.Completion), read.Revision);
                break;
            case LeaseInput lease:
                if (lease.KeepAlive)
                {
                    _driver.KeepAlive(lease.Id, new TaskAnswer<LeaseOutcome>(this, lease.Completion));
                }
                else
                {
                    _driver.TimeToLive(lease.Id, lease.Keys, new TaskAnswer<LeaseOutcome>(this, lease.Completion));
                }

                break;
            case MemberListInput members:
                members.Completion.TrySetResult(Members());
                break;
            case MemberChangeInput change:
                _driver.ChangeMembership(change.Change, new TaskAnswer<MembershipOutcome>(this, change.Completion));
                break;
            case LeaseListInput list:
                _driver.ListLeases(list.Max, new TaskAnswer<LeaseListOutcome>(this, list.Completion));
                break;
            case RangeInput range:
                _driver.Range(range.Range, range.Stale, new TaskAnswer<RangeOutcome>(this, range.Completion), range.Revision);
                break;
            case WatchCreateInput create:
                _driver.Watch(create.Stream, create.WatchId, create.Range, create.StartRevision, create.ProgressNotify, create.User, create.SignIn);
                break;
            case WatchCancelInput cancel:
                _driver.CancelWatch(cancel.Stream, cancel.WatchId);
                break;
            case WatchProgressInput progress:
                _driver.RequestWatchProgress(progress.Stream);
                break;
            case WatchClosedInput closed:
                _driver.CloseWatchStream(closed.Stream);
                break;
            case StatusInput status:
                status.Completion.TrySetResult(Snapshot());
                break;
            case HandOverInput handOver:
                handOver.Completion.TrySetResult(_driver.Core.Role == ReplicaRole.Leader ? _driver.HandOver() : null);
                break;
            case DrainInput drain:
                // Stopping: its heartbeats say so from now on, so no leader hands it leadership and it stands on no TimeoutNow.
                _driver.Core.Depart();
                drain.Completion.TrySetResult(new DrainView(_driver.Core.Role == ReplicaRole.Leader, _driver.Core.HandoverTarget, _driver.KnownLeaderId,
                    _driver.RequestsAwaitingAnswer, _driver.Core.LastHandoverFailure));
                break;
            case SnapshotWrittenInput written:
                FinishSnapshotWrite(written);
                break;
            case CleanupDoneInput cleanup:
                FinishCleanup(cleanup);
                break;
            case SnapshotSerializedInput serialized:
                _driver.SnapshotSerialized(serialized.StateMachine, serialized.Job, serialized.Failure is null ? serialized.Memory?.Memory : null,
                    serialized.Failure, TimeProvider.System.GetElapsedTime(_snapshotStarted).TotalMilliseconds, serialized.Memory);
                break;
        }
    }

    /// <summary>Logs peers' messages the core refused: at most one line per RefusalLogIntervalMs, with the count since the last.</summary>
    private void LogRefusals()
    {
        var refused = _driver.Core.RefusedMessages;
        if (refused == _refusalsLogged || Environment.TickCount64 - _refusalLoggedAtMs < RefusalLogIntervalMs)
        {
            return;
        }

        _logger.LogWarning("replica {Id}: refused {Count} peer message(s) that no correct replica could send (docs/protocol.md, peer message rules); the last: {Refusal}",
            Id, refused - _refusalsLogged, _driver.Core.LastRefusal);
        _refusalsLogged = refused;
        _refusalLoggedAtMs = Environment.TickCount64;
    }

    /// <summary>Logs damage found in the header of this replica's snapshot file as it was sent: at most one line per RefusalLogIntervalMs.</summary>
    private void LogSnapshotDamage()
    {
        var damaged = _driver.Core.SnapshotHeadersDamaged;
        if (damaged == _damageLogged || Environment.TickCount64 - _damageLoggedAtMs < RefusalLogIntervalMs)
        {
            return;
        }

        _logger.LogError("replica {Id}: {Why} ({Count} chunk(s) since the last line). Let its next snapshot replace the file before it restarts, or start it with --rebuild-from-peers",
            Id, _driver.Core.LastSnapshotDamage, damaged - _damageLogged);
        _damageLogged = damaged;
        _damageLoggedAtMs = Environment.TickCount64;
    }

    /// <summary>Every other member of the latest configuration as the metrics report it.</summary>
    private PeerView[] PeerViews()
    {
        var core = _driver.Core;
        return [.. core.LatestConfiguration.Members.Where(m => m.Id != Id).Select(m => new PeerView(
            m.Id, core.TicksSinceHeard(m.Id) * (double)_options.TickMs / 1000, Math.Max(0, core.CommitIndex - core.PeerCommitIndex(m.Id))))];
    }

    private HostStatus Snapshot() => new(
        Id,
        _driver.Core.Role.ToString().ToLowerInvariant(),
        _driver.Core.KnowsLiveLeader ? _driver.Core.LeaderId : null,
        _driver.Core.Ballot.ToString(),
        _driver.Core.Promised.ToString(),
        _driver.Core.CommitIndex,
        _driver.Kv.AppliedSlot,
        _driver.Core.HighestKnownCommit,
        _driver.Core.SnapshotSlot,
        _driver.Core.LiveMembers(),
        _driver.Core.CurrentConfiguration.Voters.Count,
        _driver.Kv.Count,
        _driver.Core.CurrentConfiguration.QuorumSize(smallQuorumBug: false),
        _driver.Core.Rebuilding,
        _storage.WalBytes,
        _storage.SegmentCount,
        _storage.Syncs,
        _storage.RecordsWritten,
        _driver.Core.RefusedMessages + Interlocked.Read(ref _refusedAtReceiver),
        _driver.Kv.Revision,
        _driver.Kv.CompactRevision,
        _driver.Kv.HistoryEventCount,
        _driver.Kv.HistoryBytes,
        _driver.WatcherCount,
        _driver.Kv.LeaseCount,
        _driver.Core.PreferredLeaderId,
        _driver.Core.PreferredLeaderWait,
        _driver.Kv.DataBytes,
        _options.QuotaBytes,
        _driver.Core.IncomingSnapshotProgress);
}
