using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Kv;
using Synod.Storage;

namespace Synod.Server;

/// <summary>
/// The one owner of a replica's core and state machine (etcd's node.go around RawNode). gRPC handlers and the
/// tick timer only post inputs to one channel; this loop drains what is waiting, steps the core, then for
/// each Ready: persists (one fsync covers everything drained: group commit), sends, reports persisted, applies,
/// and answers the requests whose commands or reads are now done.
/// </summary>
public sealed partial class ReplicaHost : IAsyncDisposable
{
    /// <summary>Inputs handled before the core is asked for a Ready, so that a busy loop batches many commands into one slot.</summary>
    private const int DrainInputsMax = 4096;

    private const int WaiterCleanupEveryTicks = 500;

    /// <summary>Ticks posted at once after a stall; a longer stall is forgotten rather than replayed in a burst.</summary>
    private const int TicksCatchUpMax = 50;

    /// <summary>Peer messages waiting for the loop; more are dropped (Paxos tolerates a lost message, and peers retransmit).</summary>
    private const int PeerInputsWaitingMax = 65_536;

    /// <summary>At most one log line about refused peer messages per this interval, so a flood cannot flood the log.</summary>
    private const int RefusalLogIntervalMs = 10_000;

    private ReplicaRole _lastRole = ReplicaRole.Follower;
    private long _refusalsLogged;
    private long _refusedAtReceiver;
    private long _refusalLoggedAtMs = long.MinValue / 2;

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
    private readonly Replica _core;
    private readonly Dictionary<(ulong ClientId, ulong Sequence), PendingWrite> _writeWaiters = [];
    private uint _lastLeaderSeen;
    private readonly Dictionary<long, (byte[] Key, TaskCompletionSource<ReadOutcome> Completion)> _readWaiters = [];
    private readonly List<(long Index, byte[] Key, TaskCompletionSource<ReadOutcome> Completion)> _readsAwaitingApply = [];
    private KvStateMachine _kv;
    // Read ids start at a per-process random point, so that a read-index reply addressed to an earlier life of this
    // replica (delivered late after a quick restart) cannot complete a new read with an old index.
    private long _nextReadId = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private long _lastSnapshotSlot;
    private Task? _loop;
    private Task? _ticker;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private uint _knownLeaderId;

    public ReplicaHost(ServerOptions options, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger($"replica-{options.Id}");
        _inputs = Channel.CreateUnbounded<HostInput>(new UnboundedChannelOptions { SingleReader = true });
        _clientSlots = new SemaphoreSlim(options.InputQueueMax, options.InputQueueMax);
        _kv = new KvStateMachine(options.SessionsMax);
        _storage = ReplicaStorage.Open(new RealDisk(), options.DataDir, options.Id, options.OpenMode, options.ToStorageOptions(),
            message => _logger.LogWarning("replica {Id}: {Message}", options.Id, message));
        try
        {
            var seed = (ulong)Environment.TickCount64 ^ ((ulong)options.Id << 32);
            _core = new Replica(options.ToReplicaOptions(), new SeededRandom(seed), _storage.State);
            _peers = new PeerLinks(options, this, loggers);
        }
        catch
        {
            // Release the data directory's lock, so that a corrected start is not refused as "in use".
            _storage.Dispose();
            throw;
        }

        _logger.LogInformation("replica {Id}: recovered promise {Promised}, commit index {Commit}, snapshot at slot {Snapshot} from {Dir} ({Segments} log segments, {Bytes} bytes){Rebuilding}",
            options.Id, _core.Promised, _core.CommitIndex, _core.SnapshotSlot, options.DataDir, _storage.SegmentCount, _storage.WalBytes,
            _core.Rebuilding ? "; rebuilding from peers: a non-voter until caught up" : "");
    }

    public int Id => _options.Id;

    /// <summary>The leader this replica knows, 0 if none; published by the owner loop for the client answers' hint.</summary>
    public uint KnownLeaderId => Volatile.Read(ref _knownLeaderId);

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
        }
    }

    /// <summary>Posts a client's request, waiting while InputQueueMax requests are queued already.</summary>
    internal async ValueTask PostAsync(HostInput input, CancellationToken cancellation)
    {
        await _clientSlots.WaitAsync(cancellation);
        if (!_inputs.Writer.TryWrite(input))
        {
            _clientSlots.Release();
            throw new OperationCanceledException("The replica is stopping.");
        }
    }

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

    private readonly List<Action> _answersDue = [];

    private void AnswerLater<T>(TaskCompletionSource<T> completion, T result) => _answersDue.Add(() => completion.TrySetResult(result));

    /// <summary>Completes the answers of this pass, after its messages left and its disk writes were made.</summary>
    private void DeliverAnswers()
    {
        if (_answersDue.Count <= InlineAnswersMax)
        {
            foreach (var answer in _answersDue)
            {
                answer();
            }
        }
        else
        {
            foreach (var answer in _answersDue)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static answer => answer(), answer, preferLocal: false);
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

        _storage.Dispose();
        _stopping.Dispose();
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

    private async Task RunAsync(CancellationToken cancellation)
    {
        try
        {
            Flush();
            while (await _inputs.Reader.WaitToReadAsync(cancellation))
            {
                for (var handled = 0; handled < DrainInputsMax && _inputs.Reader.TryRead(out var input); handled++)
                {
                    Handle(input);
                }

                Flush();
                DeliverAnswers();
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            // A broken invariant or a failed disk: stop the process rather than serve from a state we cannot trust.
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
        else if (input is ProposeInput or ReadInput or StatusInput)
        {
            _clientSlots.Release();
        }

        switch (input)
        {
            case PeerInput peer:
                if (peer.Message.To == Id)
                {
                    _core.Step(peer.Message);
                    LogRefusals();
                }

                break;
            case TickInput:
                _core.Tick();
                if (_core.CurrentTick % WaiterCleanupEveryTicks == 0)
                {
                    DropAbandonedWaiters();
                    LogRefusals();
                }

                break;
            case ProposeInput propose:
                AddWriteWaiter(propose);
                _core.Propose(propose.Command);
                break;
            case ReadInput read:
                StartRead(read);
                break;
            case StatusInput status:
                status.Completion.TrySetResult(Snapshot());
                break;
            case SnapshotWrittenInput written:
                FinishSnapshotWrite(written);
                break;
            case SnapshotSerializedInput serialized:
                FinishSnapshotSerialize(serialized);
                break;
        }
    }

    /// <summary>Logs peers' messages the core refused: at most one line per RefusalLogIntervalMs, with the count since the last.</summary>
    private void LogRefusals()
    {
        var refused = _core.RefusedMessages;
        if (refused == _refusalsLogged || Environment.TickCount64 - _refusalLoggedAtMs < RefusalLogIntervalMs)
        {
            return;
        }

        _logger.LogWarning("replica {Id}: refused {Count} peer message(s) that no correct replica could send (docs/protocol.md, peer message rules); the last: {Refusal}",
            Id, refused - _refusalsLogged, _core.LastRefusal);
        _refusalsLogged = refused;
        _refusalLoggedAtMs = Environment.TickCount64;
    }

    /// <summary>Requests that gave up (deadline passed) leave their waiters behind; sweep them now and then.</summary>
    private void DropAbandonedWaiters()
    {
        _writeWaiters.RemoveAllCompleted();
        foreach (var readId in _readWaiters.Where(r => r.Value.Completion.Task.IsCompleted).Select(r => r.Key).ToList())
        {
            _readWaiters.Remove(readId);
        }

        _readsAwaitingApply.RemoveAll(r => r.Completion.Task.IsCompleted);
    }

    private void AddWriteWaiter(ProposeInput propose)
    {
        var key = (propose.ClientId, propose.Sequence);
        if (!_writeWaiters.TryGetValue(key, out var write))
        {
            _writeWaiters[key] = write = new PendingWrite(propose.Command);
        }

        write.Waiters.RemoveAll(w => w.Task.IsCompleted);
        write.Waiters.Add(propose.Completion);
    }

    /// <summary>
    /// A write forwarded to a leader that then died or was deposed is lost with it; its client would wait for its
    /// attempt deadline. When a new leader appears, propose every waiting write again (forwarded to it, or chosen here
    /// if this replica leads). Exactly-once sessions make a second copy harmless: the state machine answers a repeat
    /// of a client's latest write with the first result and refuses an older one as stale.
    /// </summary>
    private void ReproposeWritesOnLeaderChange()
    {
        var leader = (uint)(_core.LeaderId ?? 0);
        Volatile.Write(ref _knownLeaderId, leader);
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

        foreach (var write in _writeWaiters.Values)
        {
            if (write.IsWaited)
            {
                _core.Propose(write.Command);
            }
        }
    }

    private void StartRead(ReadInput read)
    {
        if (read.Stale)
        {
            var lag = Math.Max(0, _core.HighestKnownCommit - _kv.AppliedSlot);
            AnswerLater(read.Completion, new ReadOutcome(Lookup(read.Key), _kv.AppliedSlot, lag));
            return;
        }

        var readId = ++_nextReadId;
        _readWaiters[readId] = (read.Key, read.Completion);
        _core.RequestRead(readId);
    }

    private byte[]? Lookup(byte[] key) => _kv.TryGet(key, out var value) ? value : null;

    private HostStatus Snapshot() => new(
        Id,
        _core.Role.ToString().ToLowerInvariant(),
        _core.LeaderId,
        _core.Ballot.ToString(),
        _core.Promised.ToString(),
        _core.CommitIndex,
        _kv.AppliedSlot,
        _core.HighestKnownCommit,
        _core.SnapshotSlot,
        _core.LiveMembers(),
        _options.Endpoints.Count,
        _kv.Count,
        _core.Options.QuorumSize,
        _core.Rebuilding,
        _storage.WalBytes,
        _storage.SegmentCount,
        _storage.Syncs,
        _storage.RecordsWritten,
        _core.RefusedMessages + Interlocked.Read(ref _refusedAtReceiver));
}
