using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Kv;
using Synod.Simulation;

namespace Synod.Explorer;

/// <summary>
/// The explorer's shell around one real <see cref="Replica"/> core and a real <see cref="KvStateMachine"/>. Durability
/// follows the simulator's storage contract: a Ready whose messages wait for an fsync is durable, with every record
/// written before it, the moment it is taken (a crash before that fsync is the same as the inputs never having
/// arrived, which other schedules cover); records that need no fsync (<see cref="ChosenOp"/>, <see cref="CommitOp"/>)
/// are written but stay volatile until the next fsync, so a crash in between loses them. With the shell bug
/// ack-before-persist every record stays volatile until the replica's next tick.
/// </summary>
internal sealed class ExploredReplica
{
    private readonly ReplicaOptions _options;
    private readonly SafetyOracle _oracle;
    private readonly List<PersistOp> _unsynced = [];
    private readonly Action<Message> _send;

    private readonly long _tickHorizonTicks;

    /// <summary>Disks lost so far: each life after a loss draws from another seed, as a real replica draws from the OS.</summary>
    private int _disksLost;

    public ExploredReplica(ReplicaOptions options, long tickHorizonTicks, SafetyOracle oracle, Action<Message> send)
    {
        _tickHorizonTicks = tickHorizonTicks;
        _options = options;
        _oracle = oracle;
        _send = send;
        Disk = new DurableState();
        Start();
    }

    /// <summary>A copy of <paramref name="source"/> (core, disk, unsynced records, state machine) that reports to another oracle and sends elsewhere.</summary>
    private ExploredReplica(ExploredReplica source, SafetyOracle oracle, Action<Message> send)
    {
        _tickHorizonTicks = source._tickHorizonTicks;
        _options = source._options;
        _oracle = oracle;
        _send = send;
        _unsynced.AddRange(source._unsynced);
        Core = StateCloner.Copy(source.Core);
        Disk = source.Disk.Clone();
        Kv = KvStateMachine.Restore(source.Kv.Snapshot());
        KvFailure = source.KvFailure;
        _disksLost = source._disksLost;
    }

    public int Id => _options.Id;

    public Replica Core { get; private set; } = null!;

    public DurableState Disk { get; private set; }

    public KvStateMachine Kv { get; private set; } = null!;

    /// <summary>Where installs and applies are told, when a schedule is printed; null while searching.</summary>
    public Action<string>? Log { get; set; }

    /// <summary>A state machine that refused a slot (out of order), or null.</summary>
    public string? KvFailure { get; private set; }

    private bool AckBeforePersist => (_options.Bugs & ProtocolBugs.AckBeforePersist) != 0;

    /// <summary>Volatile state and unsynced records are lost; the core restarts from the disk.</summary>
    public void Crash()
    {
        _unsynced.Clear();
        Start();
    }

    /// <summary>The disk is replaced by an empty one and the replica restarts with --rebuild-from-peers.</summary>
    public void LoseDisk()
    {
        _unsynced.Clear();
        Disk = new DurableState();
        Disk.Apply(new RebuildOp());
        _disksLost++;
        Start();
    }

    /// <summary>Ticks once; with ack-before-persist, this is when the records written so far reach the disk.</summary>
    public void Tick()
    {
        if (AckBeforePersist)
        {
            Sync();
        }

        Core.Tick();
        Pump();
    }

    public void Snapshot()
    {
        Core.Compact(Kv.AppliedSlot, Kv.Snapshot());
        Pump();
    }

    /// <summary>The shell's part: persist, send, report persisted, install and apply, until the core has nothing more to say.</summary>
    public void Pump()
    {
        while (true)
        {
            var ready = Core.TakeReady();
            if (ready.IsEmpty && Core.SelfMessagesWaiting == 0)
            {
                return;
            }

            _unsynced.AddRange(ready.PersistOps);
            if (ready.MustSyncBeforeSending && !AckBeforePersist)
            {
                Sync();
            }

            foreach (var message in ready.Messages)
            {
                _send(message);
            }

            Core.Persisted(ready.Number);
            ApplyOutput(ready);
        }
    }

    /// <summary>A copy of this replica for a copy of the cluster: the state machine through its own snapshot, the rest through <see cref="StateCloner"/>.</summary>
    public ExploredReplica Clone(SafetyOracle oracle, Action<Message> send) => new(this, oracle, send);

    public ulong Hash()
    {
        var hash = StateHasher.Of(Core, _tickHorizonTicks);
        hash = StateHasher.Combine(hash, StateHasher.Of(Disk, 0));
        hash = StateHasher.Combine(hash, StateHasher.Of(_unsynced, 0));
        return StateHasher.Combine(hash, Kv.ContentHash());
    }

    private void Sync()
    {
        foreach (var op in _unsynced)
        {
            Disk.Apply(op);
        }

        _unsynced.Clear();
    }

    private void Start()
    {
        Core = new Replica(_options, new SeededRandom((uint)_options.Id | ((ulong)(uint)_disksLost << 32)), Disk.Clone());
        Kv = new KvStateMachine();
        _oracle.OnRestart(Id);
        Pump();
    }

    private void ApplyOutput(Ready ready)
    {
        if (ready.Snapshot is not null)
        {
            Kv = KvStateMachine.Restore(ready.Snapshot.Data.Span);
            _oracle.OnSnapshotInstalled(Id, ready.Snapshot.Slot);
            Log?.Invoke($"r{Id} installs a snapshot at slot {ready.Snapshot.Slot}");
        }

        foreach (var entry in ready.Committed)
        {
            _oracle.OnApplied(Id, entry.Slot, entry.Commands);
            Log?.Invoke($"r{Id} applies slot {entry.Slot} {ScheduleText.Batch(entry.Commands)}");
            try
            {
                Kv.ApplySlot(entry.Slot, entry.Commands);
            }
            catch (InvalidOperationException e)
            {
                KvFailure ??= $"replica {Id}'s state machine refused slot {entry.Slot}: {e.Message}";
            }
        }
    }
}
