using System.Text;
using Synod.Checker;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Kv;
using Synod.Storage;

namespace Synod.Simulation;

/// <summary>
/// The simulator's shell around one replica: the real <see cref="Replica"/> core, the real
/// <see cref="KvStateMachine"/> and the real <see cref="ReplicaStorage"/>, on a <see cref="SimulatedDisk"/> and a
/// simulated network. It follows the core's contract exactly as the server does: append a Ready's ops, and only once
/// they are synced send its messages and report it persisted. A crash loses unsynced bytes and may tear the last
/// write; with --corrupt-sectors it may also damage a synced sector, and a replica whose storage then refuses to start
/// is rebuilt from its peers, as an operator would with --rebuild-from-peers.
/// </summary>
public sealed class SimReplicaHost
{
    private readonly Simulator _sim;
    private readonly ReplicaOptions _options;
    private readonly Queue<PendingReady> _unsynced = new();
    private readonly Dictionary<(ulong ClientId, ulong Sequence), ClientRequest> _writeWaiters = [];
    private readonly Dictionary<long, ClientRequest> _readWaiters = [];
    private readonly List<(ReadState State, ClientRequest Request)> _readsAwaitingApply = [];
    private long _lastFsyncDoneMs;
    private long _nextReadId;
    private long _lastSnapshotSlot;
    private bool _wasRebuilding;
    private bool _wasLeader;

    private const string DataDirectory = "/data";
    private const double TornWriteProbability = 0.5;

    private SimulatedDisk _disk;
    private ReplicaStorage? _storage;
    private StorageOpenMode _nextOpenMode = StorageOpenMode.NewCluster;
    private SnapshotWrite? _snapshotInFlight;
    private bool _sectorCorrupted;
    private int _disks;

    public SimReplicaHost(Simulator sim, ReplicaOptions options)
    {
        _sim = sim;
        _options = options;
        _disk = NewDisk();
        Start();
    }

    public int Id => _options.Id;

    public bool Up { get; private set; }

    /// <summary>Bumped at every crash, so that events meant for an earlier life are ignored.</summary>
    public int Incarnation { get; private set; }

    /// <summary>
    /// The replica's disk holds a rebuilding (non-voting) state: set when it loses its disk, cleared once a VoterOp is
    /// synced. The simulator never lets more replicas lose their disks than leave a quorum of voters.
    /// </summary>
    public bool DurablyRebuilding { get; private set; }

    /// <summary>A synced sector was damaged since the last start; the next start may refuse and rebuild.</summary>
    public bool SectorCorrupted => _sectorCorrupted;

    public Replica Core { get; private set; } = null!;

    /// <summary>Until this simulated time the replica's timer fires late (a slow clock, a starved timer thread): its
    /// timeouts stretch while it still handles every message at once, so a candidacy outlives other replicas' work.</summary>
    public long SlowClockUntilMs { get; set; }

    public KvStateMachine Kv { get; private set; } = null!;

    public void Crash()
    {
        Up = false;
        Incarnation++;
        _sim.Faults.UnsyncedBytesLost += _disk.UnsyncedBytes;
        var tear = _sim.Random.Chance(TornWriteProbability);
        _sim.Faults.TornWrites += tear && _disk.UnsyncedBytes > 0 ? 1 : 0;
        _disk.Crash(tear);
        _storage = null;
        _snapshotInFlight = null;
        _unsynced.Clear();
        _writeWaiters.Clear();
        _readWaiters.Clear();
        _readsAwaitingApply.Clear();
    }

    /// <summary>The state machine's bugs among the simulator's: only the session rule lives there.</summary>
    private static KvBugs KvBugsOf(ProtocolBugs bugs) =>
        (bugs & ProtocolBugs.FirstWriteOpensSession) != 0 ? KvBugs.FirstWriteOpensSession : KvBugs.None;

    private KvStateMachine NewStateMachine() => new(_sim.Options.SessionsMax, KvBugsOf(_options.Bugs));

    public void Start()
    {
        Up = true;
        var random = new SeededRandom(Simulator.Mix((ulong)_sim.Options.Seed, (ulong)Id, (ulong)Incarnation));
        _storage = OpenStorage();
        Core = new Replica(_options, random, _storage.State);
        Kv = NewStateMachine();
        _lastSnapshotSlot = 0;
        _wasLeader = false;
        _wasRebuilding = Core.Rebuilding;
        _sim.Oracle.OnRestart(Id);
        _lastFsyncDoneMs = _sim.NowMs;
        Process();
    }

    /// <summary>The disk is replaced by an empty one: the replica restarts with --rebuild-from-peers, a non-voter.</summary>
    public void LoseDisk()
    {
        _disk = NewDisk();
        _nextOpenMode = StorageOpenMode.RebuildFromPeers;
        _sectorCorrupted = false;
        DurablyRebuilding = true;
    }

    /// <summary>Damages one synced sector of the (crashed) replica's disk; a start that finds it refuses and is rebuilt.</summary>
    public string? CorruptSector()
    {
        var what = _disk.CorruptSector();
        _sectorCorrupted |= what is not null;
        return what;
    }

    private SimulatedDisk NewDisk() =>
        new(new SeededRandom(Simulator.Mix((ulong)_sim.Options.Seed, (ulong)Id, 0xD15C0000UL + (ulong)_disks++))) { SkipFsync = (_options.Bugs & ProtocolBugs.SkipFsync) != 0 };

    private ReplicaStorage OpenStorage()
    {
        var storageOptions = new StorageOptions();
        try
        {
            var storage = ReplicaStorage.Open(_disk, DataDirectory, Id, _nextOpenMode, storageOptions, _ => { });
            _nextOpenMode = StorageOpenMode.Existing;
            return storage;
        }
        catch (StorageException) when (_sectorCorrupted)
        {
            // The damage was found and the start refused: the operator rebuilds this replica from its peers.
            _sim.Faults.CorruptLogsRefused++;
            _sectorCorrupted = false;
            DurablyRebuilding = true;
            return ReplicaStorage.Open(_disk, DataDirectory, Id, StorageOpenMode.RebuildFromPeers, storageOptions, _ => { });
        }
    }

    public void OnTick()
    {
        Core.Tick();
        Process();
    }

    public void OnMessage(Message message)
    {
        var refused = Core.RefusedMessages;
        Core.Step(message);
        _sim.Faults.MessagesRefused += Core.RefusedMessages - refused;
        Process();
    }

    public void OnClientRequest(ClientRequest request)
    {
        if (request.Kind == OperationKind.Get)
        {
            var readId = ++_nextReadId;
            _readWaiters[readId] = request;
            Core.RequestRead(readId);
        }
        else
        {
            var command = request.Register
                ? new KvCommand(0, request.Sequence, KvOperation.Register, [], [])
                : new KvCommand(
                    request.ClientId,
                    request.Sequence,
                    request.Kind == OperationKind.Put ? KvOperation.Put : KvOperation.Delete,
                    Encoding.UTF8.GetBytes(request.Key),
                    request.Value is null ? [] : Encoding.UTF8.GetBytes(request.Value));
            _writeWaiters[(request.ClientId, request.Sequence)] = request;
            Core.Propose(command.Encode());
        }

        Process();
    }

    /// <summary>Drains the core's output until it has nothing more to say, or must wait for an fsync.</summary>
    private void Process()
    {
        if (Core.Role == ReplicaRole.Leader && !_wasLeader)
        {
            _sim.Faults.LeaderChanges++;
        }

        _wasLeader = Core.Role == ReplicaRole.Leader;
        if (_wasRebuilding && !Core.Rebuilding)
        {
            _sim.Faults.VotersRestored++;
        }

        _wasRebuilding = Core.Rebuilding;
        while (true)
        {
            var ready = Core.TakeReady();
            if (ready.IsEmpty && Core.SelfMessagesWaiting == 0)
            {
                return;
            }

            Apply(ready);
            if ((_options.Bugs & ProtocolBugs.AckBeforePersist) != 0)
            {
                // The bug: answer first, make it durable later.
                SendAll(ready.Messages);
                ScheduleWrite(ready.PersistOps, null);
                Core.Persisted(ready.Number);
                continue;
            }

            // Records of what is already chosen are written but need no fsync before the messages (Ready.MustSyncBeforeSending).
            var pending = new PendingReady(ready, !ready.MustSyncBeforeSending);
            _unsynced.Enqueue(pending);
            if (ready.PersistOps.Count > 0)
            {
                ScheduleWrite(ready.PersistOps, pending.Synced ? null : pending);
            }

            var waitingBefore = Core.SelfMessagesWaiting;
            ReleaseSynced();
            if (ready.IsEmpty && Core.SelfMessagesWaiting == waitingBefore)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One write and fsync per Ready, one after another as a disk does them: the Ready's records are written when the
    /// previous fsync has finished and are durable 1–FsyncDelayMsMax ms later. A crash in between loses them, or keeps
    /// a torn prefix.
    /// </summary>
    private void ScheduleWrite(List<PersistOp> ops, PendingReady? pending)
    {
        var start = Math.Max(_lastFsyncDoneMs, _sim.NowMs);
        var done = start + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax);
        _lastFsyncDoneMs = done;
        var incarnation = Incarnation;
        _sim.Schedule(start, _sim.Tracing ? $"write r{Id} ops={ops.Count}" : null, () =>
        {
            if (Up && Incarnation == incarnation)
            {
                _storage!.Append(ops);
                StartSnapshotWrite();
            }
        });
        _sim.Schedule(done, _sim.Tracing ? $"fsync r{Id} ops={ops.Count}" : null, () =>
        {
            if (!Up || Incarnation != incarnation)
            {
                return;
            }

            _storage!.Sync();
            if (pending is not null)
            {
                pending.Synced = true;
                DurablyRebuilding &= !pending.Ready.PersistOps.Any(op => op is VoterOp);
                ReleaseSynced();
                Process();
            }
        });
    }

    /// <summary>Sends the messages of every synced Ready at the head of the queue, in order, and reports them persisted.</summary>
    private void ReleaseSynced()
    {
        while (_unsynced.Count > 0 && _unsynced.Peek().Synced)
        {
            var done = _unsynced.Dequeue();
            SendAll(done.Ready.Messages);
            Core.Persisted(done.Ready.Number);
        }
    }

    private void SendAll(List<Message> messages)
    {
        foreach (var message in messages)
        {
            _sim.SendPeerMessage(message);
        }
    }

    private void Apply(Ready ready)
    {
        if (ready.Snapshot is not null)
        {
            Kv = KvStateMachine.Restore(ready.Snapshot.Data, _sim.Options.SessionsMax, KvBugsOf(_options.Bugs));
            _lastSnapshotSlot = ready.Snapshot.Slot;
            _sim.Oracle.OnSnapshotInstalled(Id, ready.Snapshot.Slot);
            _sim.Faults.SnapshotsInstalled++;
            if (Core.Role == ReplicaRole.Candidate)
            {
                _sim.Faults.SnapshotsInstalledByCandidates++;
            }
        }

        foreach (var entry in ready.Committed)
        {
            _sim.Oracle.OnApplied(Id, entry.Slot, entry.Commands);
            foreach (var applied in Kv.ApplySlot(entry.Slot, entry.Commands))
            {
                AnswerWrite(applied);
            }
        }

        foreach (var readId in ready.DroppedReads)
        {
            if (_readWaiters.Remove(readId, out var request))
            {
                _sim.SendClientReply(Id, new ClientReply(request.Client, request.Attempt, false, null, "no leader for a read index"));
            }
        }

        foreach (var state in ready.ReadStates)
        {
            if (_readWaiters.Remove(state.ReadId, out var request))
            {
                _readsAwaitingApply.Add((state, request));
            }
        }

        AnswerReadsApplied();
        MaybeCompact();
    }

    private void AnswerWrite(AppliedCommand applied)
    {
        if (!_writeWaiters.Remove((applied.ClientId, applied.Sequence), out var request))
        {
            return;
        }

        var ok = applied.Status is KvStatus.Ok or KvStatus.NotFound;
        var gone = applied.Status is KvStatus.SessionExpired or KvStatus.UnknownClient;
        _sim.SendClientReply(Id, new ClientReply(request.Client, request.Attempt, ok, null, applied.Status.ToString(), applied.RegisteredClientId, gone));
    }

    private void AnswerReadsApplied()
    {
        _readsAwaitingApply.RemoveAll(pair =>
        {
            if (Kv.AppliedSlot < pair.State.Index)
            {
                return false;
            }

            var value = Kv.TryGet(Encoding.UTF8.GetBytes(pair.Request.Key), out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
            _sim.SendClientReply(Id, new ClientReply(pair.Request.Client, pair.Request.Attempt, true, value, "read"));
            return true;
        });
    }

    /// <summary>No snapshot every SnapshotEverySlots while set (a snapshot thread that falls behind; a targeted fault's step).</summary>
    public bool SnapshotsPaused { get; set; }

    /// <summary>A snapshot at the applied slot now, not at the next multiple of SnapshotEverySlots (a targeted fault's step).</summary>
    public bool CompactNow()
    {
        if (!Up || Kv.AppliedSlot <= Core.SnapshotSlot)
        {
            return false;
        }

        _lastSnapshotSlot = Kv.AppliedSlot;
        Core.Compact(Kv.AppliedSlot, Kv.Snapshot());
        Process();
        return true;
    }

    private void MaybeCompact()
    {
        if (SnapshotsPaused || Kv.AppliedSlot - _lastSnapshotSlot < _sim.Options.SnapshotEverySlots)
        {
            return;
        }

        _lastSnapshotSlot = Kv.AppliedSlot;
        Core.Compact(Kv.AppliedSlot, Kv.Snapshot());
    }

    /// <summary>Writes the pending snapshot a little later, as the server does on another thread, while serving goes on.</summary>
    private void StartSnapshotWrite()
    {
        if (_snapshotInFlight is not null || _storage!.TakePendingSnapshot() is not { } write)
        {
            return;
        }

        _snapshotInFlight = write;
        var incarnation = Incarnation;
        _sim.Schedule(_sim.NowMs + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax * 2), _sim.Tracing ? $"snapshot r{Id} slot={write.Slot}" : null, () =>
        {
            if (!Up || Incarnation != incarnation)
            {
                return;
            }

            write.Run();
            _storage!.CompleteSnapshot(write);
            _sim.Faults.SnapshotFilesWritten++;
            _snapshotInFlight = null;
            StartSnapshotWrite();
        });
    }

    private sealed class PendingReady(Ready ready, bool synced)
    {
        public Ready Ready { get; } = ready;

        public bool Synced { get; set; } = synced;
    }
}
