using System.Text;
using Synod.Checker;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// The simulator's shell around one replica: the real <see cref="Replica"/> core and the real
/// <see cref="KvStateMachine"/>, on a simulated disk and network. It follows the core's contract exactly as the
/// server does: persist a Ready's ops, and only once they are synced send its messages and report it persisted.
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

    public SimReplicaHost(Simulator sim, ReplicaOptions options)
    {
        _sim = sim;
        _options = options;
        Start();
    }

    public int Id => _options.Id;

    public bool Up { get; private set; }

    /// <summary>Bumped at every crash, so that events meant for an earlier life are ignored.</summary>
    public int Incarnation { get; private set; }

    public SimDisk Disk { get; } = new();

    public Replica Core { get; private set; } = null!;

    public KvStateMachine Kv { get; private set; } = null!;

    public void Crash()
    {
        Up = false;
        Incarnation++;
        _sim.Faults.UnsyncedOpsLost += Disk.Crash();
        _unsynced.Clear();
        _writeWaiters.Clear();
        _readWaiters.Clear();
        _readsAwaitingApply.Clear();
    }

    public void Start()
    {
        Up = true;
        var random = new SeededRandom(Simulator.Mix((ulong)_sim.Options.Seed, (ulong)Id, (ulong)Incarnation));
        Core = new Replica(_options, random, Disk.Synced.Clone());
        Kv = new KvStateMachine();
        _lastSnapshotSlot = 0;
        _wasLeader = false;
        _wasRebuilding = Core.Rebuilding;
        _sim.Oracle.OnRestart(Id);
        _lastFsyncDoneMs = _sim.NowMs;
        Process();
    }

    public void OnTick()
    {
        Core.Tick();
        Process();
    }

    public void OnMessage(Message message)
    {
        Core.Step(message);
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
            var command = new KvCommand(
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
                Disk.Write(ready.PersistOps);
                ScheduleFsync(ready.PersistOps.Count, null);
                Core.Persisted(ready.Number);
                continue;
            }

            Disk.Write(ready.PersistOps);
            var pending = new PendingReady(ready, ready.PersistOps.Count == 0);
            _unsynced.Enqueue(pending);
            if (!pending.Synced)
            {
                ScheduleFsync(ready.PersistOps.Count, pending);
            }

            var waitingBefore = Core.SelfMessagesWaiting;
            ReleaseSynced();
            if (ready.IsEmpty && Core.SelfMessagesWaiting == waitingBefore)
            {
                return;
            }
        }
    }

    private void ScheduleFsync(int opCount, PendingReady? pending)
    {
        var done = Math.Max(_lastFsyncDoneMs, _sim.NowMs) + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax);
        _lastFsyncDoneMs = done;
        var incarnation = Incarnation;
        _sim.Schedule(done, $"fsync r{Id} ops={opCount}", () =>
        {
            if (!Up || Incarnation != incarnation)
            {
                return;
            }

            Disk.Sync(opCount);
            if (pending is not null)
            {
                pending.Synced = true;
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
            Kv = KvStateMachine.Restore(ready.Snapshot.Data);
            _lastSnapshotSlot = ready.Snapshot.Slot;
            _sim.Oracle.OnSnapshotInstalled(Id, ready.Snapshot.Slot);
            _sim.Faults.SnapshotsInstalled++;
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
        _sim.SendClientReply(Id, new ClientReply(request.Client, request.Attempt, ok, null, applied.Status.ToString()));
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

    private void MaybeCompact()
    {
        if (Kv.AppliedSlot - _lastSnapshotSlot < _sim.Options.SnapshotEverySlots)
        {
            return;
        }

        _lastSnapshotSlot = Kv.AppliedSlot;
        Core.Compact(Kv.AppliedSlot, Kv.Snapshot());
    }

    private sealed class PendingReady(Ready ready, bool synced)
    {
        public Ready Ready { get; } = ready;

        public bool Synced { get; set; } = synced;
    }
}
