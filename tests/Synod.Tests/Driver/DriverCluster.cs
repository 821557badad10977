using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Tests.Driver;

/// <summary>
/// A hand-driven cluster of real <see cref="ReplicaDriver"/>s (the code the server and the simulator run): every
/// record is durable at once, snapshots are serialised at the next delivery, and messages move only when the test
/// delivers them; links can be cut.
/// </summary>
internal sealed class DriverCluster
{
    private readonly Dictionary<int, ReplicaDriver> _drivers = [];
    private readonly List<Message> _network = [];
    private readonly List<Action> _background = [];

    public DriverCluster(int size, int sessionsMax, Func<DriverOptions, DriverOptions>? configure = null, Func<ReplicaOptions, ReplicaOptions>? configureCore = null)
    {
        int[] members = [.. Enumerable.Range(1, size)];
        foreach (var id in members)
        {
            var shell = new Shell(this, id);
            var options = new ReplicaOptions { Id = id, Members = members, ElectionJitterTicks = 1 };
            options = configureCore?.Invoke(options) ?? options;
            var driverOptions = new DriverOptions { SessionsMax = sessionsMax, SnapshotEverySlots = long.MaxValue };
            driverOptions = configure?.Invoke(driverOptions) ?? driverOptions;
            _drivers[id] = new ReplicaDriver(options, driverOptions, new SeededRandom((ulong)id), new DurableState(), shell, shell, shell, shell);
        }
    }

    /// <summary>What every replica's log reports as written since its last snapshot (a snapshot is due past SnapshotEveryBytes).</summary>
    public long LogBytesSinceSnapshot { get; set; }

    /// <summary>Whether each log writes and compacts behind a snapshot at once (never busy); otherwise it stays busy after its first.</summary>
    public bool LogCompactsAtOnce { get; init; }

    /// <summary>Snapshots each replica's driver began serialising (each a pass over the whole state).</summary>
    public Dictionary<int, int> SnapshotsStarted { get; } = [];

    /// <summary>While set, background snapshots wait for <see cref="FinishHeldSnapshot"/>.</summary>
    public bool HoldBackground { get; set; }

    /// <summary>Serialises the oldest held snapshot and hands it to its driver, without the Process that would follow.</summary>
    public void FinishHeldSnapshot()
    {
        var (driver, stateMachine, job) = _held[0];
        _held.RemoveAt(0);
        _background.RemoveAt(0);
        var (data, failure) = SerializeOrFail(job);
        LastSerialized = data;
        driver.SnapshotSerialized(stateMachine, job, data, failure, 0);
    }

    /// <summary>As the server's background work does: a snapshot too large comes back as the failure, not a throw.</summary>
    private static (byte[]? Data, Exception? Failure) SerializeOrFail(KvSnapshotJob job)
    {
        try
        {
            return (job.Serialize(), null);
        }
        catch (KvSnapshotTooLargeException e)
        {
            return (null, e);
        }
    }

    private readonly List<(ReplicaDriver Driver, KvStateMachine StateMachine, KvSnapshotJob Job)> _held = [];

    /// <summary>The bytes the last background snapshot serialised.</summary>
    public byte[]? LastSerialized { get; private set; }

    /// <summary>The SnapshotOps each replica's driver wrote to its log; while one is there that log reports a snapshot busy.</summary>
    public Dictionary<int, List<SnapshotOp>> SnapshotsLogged { get; } = [];

    /// <summary>Replicas whose messages, both ways, are dropped.</summary>
    public HashSet<int> Isolated { get; } = [];

    /// <summary>Replicas that send but hear nothing: messages to them are dropped.</summary>
    public HashSet<int> Deaf { get; } = [];

    /// <summary>Messages this says to lose (null: none beyond Isolated and Deaf).</summary>
    public Func<Message, bool>? Drop { get; set; }

    public ReplicaDriver this[int id] => _drivers[id];

    public int? Leader => _drivers.Values.FirstOrDefault(d => d.Core.Role == ReplicaRole.Leader)?.Core.Id;

    /// <summary>Ticks every replica and delivers what follows, until one leads (at most <paramref name="ticksMax"/> ticks).</summary>
    public int ElectLeader(int ticksMax = 200)
    {
        for (var t = 0; t < ticksMax && Leader is null; t++)
        {
            TickAll();
        }

        return Leader ?? throw new InvalidOperationException($"no leader after {ticksMax} ticks");
    }

    public void TickAll(int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            foreach (var driver in _drivers.Values)
            {
                driver.Tick();
                driver.Process();
            }

            Deliver();
        }
    }

    /// <summary>Delivers every message (and finishes background snapshots) until nothing more moves.</summary>
    public void Deliver(int stepsMax = 100_000)
    {
        for (var step = 0; step < stepsMax; step++)
        {
            if (_background.Count > 0 && !HoldBackground)
            {
                var work = _background[0];
                _background.RemoveAt(0);
                work();
                continue;
            }

            if (_network.Count == 0)
            {
                return;
            }

            var message = _network[0];
            _network.RemoveAt(0);
            if (Isolated.Contains(message.From) || Isolated.Contains(message.To) || Deaf.Contains(message.To) || (Drop?.Invoke(message) ?? false) ||
                !_drivers.TryGetValue(message.To, out var to))
            {
                continue;
            }

            to.Step(message);
            to.Process();
        }

        throw new InvalidOperationException($"messages still moving after {stepsMax} steps");
    }

    public RecordingAnswer<WriteOutcome> Write(int id, KvCommand command)
    {
        var answer = new RecordingAnswer<WriteOutcome>();
        _drivers[id].Write(command.ClientId, command.Sequence, command.Encode(), answer);
        _drivers[id].Process();
        Deliver();
        return answer;
    }

    /// <summary>Registers a client through replica <paramref name="id"/> and returns the id the log assigned.</summary>
    public ulong Register(int id, ulong nonce)
    {
        var answer = Write(id, new KvCommand(0, nonce, KvOperation.Register, [], []));
        return answer.Result?.RegisteredClientId ?? throw new InvalidOperationException($"the registration through replica {id} was not answered: {answer.Failure}");
    }

    private sealed class Shell(DriverCluster cluster, int id) : IReplicaLog, IPeerOutbox, IBackgroundWork, IReplicaEvents
    {
        public long BytesSinceSnapshot => cluster.LogBytesSinceSnapshot;

        public bool SnapshotBusy => !cluster.LogCompactsAtOnce && cluster.SnapshotsLogged.GetValueOrDefault(id)?.Count > 0;

        public bool Write(IReadOnlyList<PersistOp> ops, long? syncToken)
        {
            foreach (var snapshot in ops.OfType<SnapshotOp>())
            {
                cluster.SnapshotsLogged.TryAdd(id, []);
                cluster.SnapshotsLogged[id].Add(snapshot);
            }

            return true;
        }

        /// <summary>This log keeps no files: there is nothing to write ahead.</summary>
        public void PrepareInstall(SnapshotOp snapshot)
        {
        }

        /// <summary>This log keeps no files: the core keeps the array it made.</summary>
        public (long Slot, ReadOnlyMemory<byte> Data)? TakeStoredSnapshot() => null;

        public bool HoldsSnapshotBytes(ReadOnlyMemory<byte> data) => false;

        public void Send(IReadOnlyList<Message> messages) => cluster._network.AddRange(messages);

        public void SerializeSnapshot(KvStateMachine stateMachine, KvSnapshotJob job)
        {
            cluster.SnapshotsStarted[id] = cluster.SnapshotsStarted.GetValueOrDefault(id) + 1;
            cluster._held.Add((cluster._drivers.Values.First(d => ReferenceEquals(d.Kv, stateMachine)), stateMachine, job));
            cluster._background.Add(() =>
            {
                var driver = cluster._drivers.Values.First(d => ReferenceEquals(d.Kv, stateMachine));
                cluster._held.RemoveAt(0);
                var (data, failure) = SerializeOrFail(job);
                cluster.LastSerialized = data;
                driver.SnapshotSerialized(stateMachine, job, data, failure, 0);
                driver.Process();
            });
        }
    }
}

/// <summary>What the driver answered a request: a result, a failure, or nothing yet.</summary>
internal sealed class RecordingAnswer<T> : IAnswer<T>
    where T : class
{
    public bool Abandoned => false;

    public T? Result { get; private set; }

    public ReplicaFailure? Failure { get; private set; }

    public int Answers { get; private set; }

    public void Complete(T result)
    {
        Result = result;
        Answers++;
    }

    public void Fail(ReplicaFailure failure)
    {
        Failure = failure;
        Answers++;
    }
}
