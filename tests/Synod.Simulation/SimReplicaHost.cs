using System.Text;
using Synod.Checker;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Driver;
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
public sealed class SimReplicaHost : IReplicaLog, IPeerOutbox, IBackgroundWork, IReplicaEvents
{
    private readonly Simulator _sim;
    private readonly ReplicaOptions _options;
    private long _lastFsyncDoneMs;
    private bool _wasRebuilding;
    private ReplicaDriver _driver = null!;

    private const string DataDirectory = "/data";
    private const double TornWriteProbability = 0.5;

    private SimulatedDisk _disk;
    private ReplicaStorage? _storage;
    private StorageOpenMode _nextOpenMode = StorageOpenMode.NewCluster;
    private SnapshotWrite? _snapshotInFlight;
    private bool _sectorCorrupted;
    private int _disks;

    public SimReplicaHost(Simulator sim, ReplicaOptions options, bool dormant = false)
    {
        _sim = sim;
        _options = options;
        _disk = NewDisk();
        Dormant = dormant;
        if (!dormant)
        {
            Start();
        }
    }

    /// <summary>This spare joined once (an id is used only once, even if the change that added it was not chosen).</summary>
    public bool EverJoined { get; set; }


    public long JoinedAtMs { get; set; }

    /// <summary>Not a member: a spare that has not joined yet, or a replica removed and stopped. It never restarts.</summary>
    public bool Dormant { get; private set; }

    /// <summary>A spare was added as a learner: it starts on an empty disk and learns the log from its peers.</summary>
    public void Join()
    {
        Dormant = false;
        Start();
    }

    /// <summary>Removed, and every slot it had to vote in is chosen: it stops for good, as `synod serve` does.</summary>
    public void Retire()
    {
        if (Up)
        {
            Crash();
        }

        Dormant = true;
    }

    /// <summary>A membership request at this replica (the simulator's operator).</summary>
    public void ChangeMembership(MembershipChange change, IAnswer<MembershipOutcome> answer)
    {
        _driver.ChangeMembership(change, answer);
        Process();
    }

    /// <summary>As leader, hands leadership to <paramref name="target"/> (or the best voter); null once under way, else why not.</summary>
    public string? HandOver(int? target)
    {
        var refusal = _driver.HandOver(target);
        Process();
        return refusal;
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

    public Replica Core => _driver.Core;

    /// <summary>Until this simulated time the replica's timer fires late (a slow clock, a starved timer thread): its
    /// timeouts stretch while it still handles every message at once, so a candidacy outlives other replicas' work.</summary>
    public long SlowClockUntilMs { get; set; }

    public KvStateMachine Kv => _driver.Kv;

    /// <summary>What the driver holds back of the write quota for the writes it has waiting (<see cref="ReplicaDriver.QuotaReserved"/>).</summary>
    public long QuotaReserved => _driver.QuotaReserved;

    /// <summary>The writes waiting at the driver.</summary>
    public int WritesWaiting => _driver.WritesWaiting;

    /// <summary>When this replica last crashed (simulated ms).</summary>
    public long CrashedAtMs { get; private set; }

    /// <summary>How long the life that ended at <see cref="CrashedAtMs"/> lasted.</summary>
    public long LastLifeMs { get; private set; }

    public void Crash()
    {
        Up = false;
        CrashedAtMs = _sim.NowMs;
        LastLifeMs = _sim.NowMs - StartedAtMs;
        Incarnation++;
        _sim.Faults.UnsyncedBytesLost += _disk.UnsyncedBytes;
        var tear = _sim.Random.Chance(TornWriteProbability);
        _sim.Faults.TornWrites += tear && _disk.UnsyncedBytes > 0 ? 1 : 0;
        _disk.Crash(tear);
        _storage = null;
        _snapshotInFlight = null;
        _cleanupInFlight = null;
        _writesQueued.Clear();
    }

    /// <summary>When this replica last started (simulated ms).</summary>
    public long StartedAtMs { get; private set; }

    public void Start()
    {
        Up = true;
        _headersDamagedSeen = 0;
        StartedAtMs = _sim.NowMs;
        LeasesSeen.Clear();
        LastCounter = (0, 0);
        var random = new SeededRandom(Simulator.Mix((ulong)_sim.Options.Seed, (ulong)Id, (ulong)Incarnation));
        var restoredAhead = new RestoredAhead { UncheckedBug = _sim.Options.RestoredAheadUnchecked };
        var driverOptions = new DriverOptions
        {
            SessionsMax = _sim.Options.SessionsMax,
            History = _sim.HistoryLimits,
            WatchProgressEveryTicks = 50,

            // Batches of one to three changes, so that batch boundaries fall everywhere.
            WatchBatchEventsMax = 1 + (int)((ulong)_sim.Options.Seed % 3),
            SnapshotEverySlots = _sim.Options.SnapshotEverySlots,
            FirstReadId = (long)Incarnation << 40,
            WaiterTicksMax = Math.Max(1, 2 * _sim.Options.ClientTimeoutMs / _sim.Options.TickMs),
            QuotaBytes = _sim.QuotaBytes ?? DriverOptions.QuotaBytesDefault,
            RestoredAhead = restoredAhead,
        };
        // The bug of the upgrade from the build with lease owners is this build's: a replica started before the upgrade
        // runs the old build, which judged its own commands rightly.
        var options = _sim.BeforeLeaseOwners ? _options with { Bugs = _options.Bugs & ~ProtocolBugs.OldCommandsByOldestRules } : _options;

        // The stored snapshot is offered as the server offers it (restored on another thread there, here when taken), so
        // that the driver's first install goes the same way.
        _storage = OpenStorage(stored =>
        {
            var data = Replica.SnapshotShell(stored);
            restoredAhead.Offer(data, () => ReplicaDriver.RestoreStateMachine(data, driverOptions, options.Bugs));
        });

        // Not an open refused after its snapshot was read (a damaged log, then a rebuild from peers): that offer is of
        // memory no install will name.
        var restoresStored = _storage.State.SnapshotData is not null;
        _driver = new ReplicaDriver(options, driverOptions, random, _storage.State, this, this, this, this)
        {
            SnapshotMemoryFreedEarlyBug = _sim.Options.SnapshotMemoryFreedEarly,
        };
        _storage.ForgetRecoveredData();
        _wasRebuilding = Core.Rebuilding;
        _sim.Oracle.OnRestart(Id);
        _lastFsyncDoneMs = _sim.NowMs;
        Process();

        // The first pass installs the stored snapshot, and must take it as restored ahead: a slice that the core and
        // Replica.SnapshotShell cut differently would silently restore it twice on a real server.
        if (restoresStored && !restoredAhead.Taken && !restoredAhead.UncheckedBug)
        {
            throw new InvalidOperationException($"Replica {Id} restarted from its stored snapshot but did not take the state machine restored ahead from it.");
        }
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

    /// <summary>
    /// Damages the snapshot this replica sends its peers where it lies: one byte flipped in the file the core's copy is
    /// mapped from (in its configuration header, the state machine's header or its body), as bit rot the disk does not report would,
    /// after the file was checked. The replica's next start finds it (or rebuilds). Null, and nothing done, unless
    /// the core sends from the mapped file. Returns what it did, for the log.
    /// </summary>
    public (long Slot, string What)? DamageMappedSnapshot()
    {
        var slot = Core.SnapshotSlot;
        var path = Path.Combine(DataDirectory, StorageLayout.SnapshotDirectoryName, StorageLayout.SnapshotFileName(slot));
        if (!Up || slot == 0 || !_disk.Exists(path))
        {
            return null;
        }

        // The disk's view of the file is the same memory as the core's copy only once the storage has mapped it.
        var mapped = _disk.Map(path, SnapshotFile.HeaderBytes, Core.SnapshotBytes);
        var shellBytes = Replica.SnapshotShellBytes(mapped.Span).Length;
        if (!Core.HoldsSnapshotBytes(mapped) || shellBytes == 0)
        {
            return null;
        }

        // Half the time in the configuration header (after its magic, version and count, where a flip can still parse), a
        // quarter in the state machine's header (magic, version, length, checksum: outside what its checksum covers), a
        // quarter in the state machine's body.
        var headerBytes = mapped.Length - shellBytes;
        var shellHead = Math.Min(shellBytes, KvStateMachine.SnapshotUncheckedBytes);
        var offset = SnapshotFile.HeaderBytes + (_sim.Random.Next(4) switch
        {
            < 2 when headerBytes > 6 => 6 + _sim.Random.Next(headerBytes - 6),
            2 => headerBytes + _sim.Random.Next(shellHead),
            _ => headerBytes + _sim.Random.Next(shellBytes),
        });
        var mask = (byte)(1 + _sim.Random.Next(255));
        _disk.Flip(path, offset, mask);
        _sectorCorrupted = true;
        return (slot, $"{path}: flipped bits 0x{mask:x2} of the byte at offset {offset}, of the mapped snapshot, {(offset - SnapshotFile.HeaderBytes < headerBytes ? "in its configuration header" : offset - SnapshotFile.HeaderBytes < headerBytes + shellHead ? "in the state machine's header" : "in the state's bytes")}");
    }

    private SimulatedDisk NewDisk() =>
        new(new SeededRandom(Simulator.Mix((ulong)_sim.Options.Seed, (ulong)Id, 0xD15C0000UL + (ulong)_disks++))) { SkipFsync = (_options.Bugs & ProtocolBugs.SkipFsync) != 0 };

    private ReplicaStorage OpenStorage(Action<ReadOnlyMemory<byte>> snapshotRead)
    {
        var storageOptions = new StorageOptions
        {
            CleanupBeforeCheckpointSyncBug = _sim.Options.CleanupBeforeCheckpointSync,
            PreparedInstallUnsyncedBug = _sim.Options.PreparedInstallUnsynced,
        };
        try
        {
            var storage = ReplicaStorage.Open(_disk, DataDirectory, Id, _nextOpenMode, storageOptions, _ => { }, snapshotRead: snapshotRead);
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

    /// <summary>A simulated client opens a watch here (the sink stands for its stream).</summary>
    public void Watch(IWatchSink sink, long watchId, KvRange range, long startRevision, bool progressNotify, string? user)
    {
        _driver.Watch(sink, watchId, range, startRevision, progressNotify, user);
        Process();
    }

    /// <summary>The leases this life of the replica has held (the oracle notices when one ends).</summary>
    public HashSet<long> LeasesSeen { get; } = [];

    /// <summary>The fenced counter as this life of the replica last held it (the oracle checks that it never goes back).</summary>
    public (long Count, long Token) LastCounter { get; set; }

    /// <summary>A lease holder's write (register, grant, attach, revoke).</summary>
    public void LeaseWrite(ulong clientId, ulong sequence, byte[] command, IAnswer<WriteOutcome> answer)
    {
        WriteUnderQuota(clientId, sequence, command, KvCommand.Decode(command), answer);
        Process();
    }

    /// <summary>
    /// Hands a write to the driver under the quota oracle: a write that would take this replica's data past the quota,
    /// as it has applied it, must be answered "no space" at once rather than proposed; one that fits must not be
    /// refused for space. A retry of a write waiting here already joins it, and a replica that knows no leader refuses
    /// first, so neither is judged.
    /// </summary>
    private void WriteUnderQuota(ulong clientId, ulong sequence, byte[] bytes, KvCommand command, IAnswer<WriteOutcome> answer)
    {
        // Not judged: no quota; no leader (refused first); a retry joining its waiting copy or of a write applied here
        // already (neither is judged again); the bugs that rewrite a transaction before the quota sees it. A replica that
        // lags too far to judge must refuse every write that grows the data.
        if (_sim.QuotaBytes is not { } quota || !Core.KnowsLiveLeader || Core.Removed || _driver.IsWaiting(clientId, sequence) ||
            Kv.HasApplied(clientId, sequence) || (Core.Options.Bugs & (ProtocolBugs.CompareAtProposal | ProtocolBugs.TxnCompareAtProposal)) != 0)
        {
            _driver.Write(clientId, sequence, bytes, answer);
            return;
        }

        var lagging = _driver.QuotaLagging;
        var (data, growth) = (Kv.DataBytes + _driver.QuotaReserved, Kv.GrowthOf(command));
        var over = growth > 0 && (lagging || data + growth > quota);
        if (lagging && growth > 0)
        {
            _sim.Faults.WritesRefusedLagging++;
        }

        var watched = new WatchedAnswer<WriteOutcome>(answer);
        _driver.Write(clientId, sequence, bytes, watched);
        if (over)
        {
            _sim.Faults.WritesOverQuota++;
        }

        if (over && !watched.AnsweredAtOnce)
        {
            _sim.Violation($"replica {Id} proposed client {clientId}'s {command.Operation} {sequence}, which grows the data by {growth} bytes, at {data} bytes applied and reserved" +
                (lagging ? ", while it lagged too far to judge the quota." : $": past the write quota of {quota} bytes."));
        }
        else if (!over && watched.Failure is ReplicaFailure.NoSpace or ReplicaFailure.CatchingUp)
        {
            _sim.Violation($"replica {Id} refused client {clientId}'s {command.Operation} {sequence} for space, though it grows the data by {growth} bytes at {data} bytes applied and reserved, within the write quota of {quota} bytes.");
        }
    }

    /// <summary>An answer that notes whether the driver gave it before returning (nothing proposed) and how it failed.</summary>
    private sealed class WatchedAnswer<T>(IAnswer<T> inner) : IAnswer<T>
    {
        public bool AnsweredAtOnce { get; private set; }

        public ReplicaFailure? Failure { get; private set; }

        public bool Abandoned => inner.Abandoned;

        public void Complete(T result)
        {
            AnsweredAtOnce = true;
            inner.Complete(result);
        }

        public void Fail(ReplicaFailure failure)
        {
            AnsweredAtOnce = true;
            Failure = failure;
            inner.Fail(failure);
        }
    }

    /// <summary>A lease holder's keep-alive.</summary>
    public void KeepAlive(long leaseId, IAnswer<LeaseOutcome> answer)
    {
        _driver.KeepAlive(leaseId, answer);
        Process();
    }

    /// <summary>The client closed its stream.</summary>
    public void CloseWatchStream(IWatchSink sink) => _driver.CloseWatchStream(sink);

    public void OnTick()
    {
        var preferredHandovers = Core.PreferredHandovers;
        _driver.Tick();
        if (Core.PreferredHandovers != preferredHandovers && Core.HandoverTarget is int target)
        {
            _sim.OnPreferredHandover(this, target);
        }

        Process();
    }

    public void OnMessage(Message message)
    {
        var (refused, snapshotsRefused) = (Core.RefusedMessages, Core.SnapshotsRefused);
        var wasFollower = Core.Role == ReplicaRole.Follower;
        _driver.Step(message);
        if (message is TimeoutNow && wasFollower && Core.Role != ReplicaRole.Follower)
        {
            _sim.OnStoodOnHandover(this);
        }

        _sim.Faults.MessagesRefused += Core.RefusedMessages - refused;
        if (Core.SnapshotsRefused != snapshotsRefused)
        {
            // No run forges snapshot chunks, so a snapshot the state machine refuses was assembled wrong (a finding),
            // unless its source's mapped copy was damaged (DamagedSourceFault).
            if (Core.LastSnapshotRefused is not { } refusedSnapshot || !_sim.DamagedSnapshots.Contains(refusedSnapshot))
            {
                throw new InvalidDataException($"replica {Id} refused a snapshot it assembled from its peers' chunks: {Core.LastRefusal}");
            }

            _sim.Faults.DamagedSnapshotsRefused++;
        }


        Process();
    }

    public void OnClientRequest(ClientRequest request)
    {
        if (request.Range)
        {
            _driver.Range(KvRange.Prefix(Encoding.UTF8.GetBytes(request.Key)), stale: false, new RangeAnswer(this, request), request.AtRevision);
        }
        else if (request.Kind == OperationKind.Get)
        {
            _driver.Read(Encoding.UTF8.GetBytes(request.Key), stale: false, new ReadAnswer(this, request), request.AtRevision);
        }
        else
        {
            var command = request.Register
                ? new KvCommand(0, request.Sequence, KvOperation.Register, [], [])
                : request.AuthChange is { } change
                ? KvCommand.ChangeAuth(request.ClientId, request.Sequence, change, request.User)
                : request.CompactTo != 0
                ? KvCommand.CompactTo(request.ClientId, request.Sequence, request.CompactTo)
                : request.Txn is { } txn
                ? new KvCommand(request.ClientId, request.Sequence, KvOperation.Txn, [], []) { Txn = txn }
                : new KvCommand(
                    request.ClientId,
                    request.Sequence,
                    request.Kind == OperationKind.Delete ? KvOperation.Delete : KvOperation.Put,
                    Encoding.UTF8.GetBytes(request.Key),
                    request.Value is null ? [] : Encoding.UTF8.GetBytes(request.Value))
                {
                    Condition = request.Kind != OperationKind.Cas ? null
                        : request.Expect is null ? KvCondition.Absent
                        : new KvCondition(KvCompareTarget.Value, KvCompareOp.Equal, 0, Encoding.UTF8.GetBytes(request.Expect)),
                    Lease = request.Lease,
                };
            if (request.User.Length != 0)
            {
                command = command with { User = request.User };
            }

            var bytes = _sim.AsBuilt(command.Encode());
            if (_sim.BeforeUpgrade)
            {
                // The build before revisions: encoding version 1, which has no condition flag.
                bytes[0] = KvCommand.FormatVersionBeforeRevisions;
                bytes = bytes[..^1];
            }

            WriteUnderQuota(command.ClientId, command.Sequence, bytes, command, new WriteAnswer(this, request));
        }

        Process();
    }

    /// <summary>The driver carries out what the core says; the host counts what the simulator reports.</summary>
    private void Process()
    {
        _driver.Process();
        NoteHeaderDamage();
        _sim.Oracle.OnConfigurations(Id, Core.ConfigurationEpochs);
        NoteRebuilding();
        _sim.CheckLeasesAt(this);
    }

    /// <summary>What this life's core has counted in <see cref="Replica.SnapshotHeadersDamaged"/> so far.</summary>
    private long _headersDamagedSeen;

    /// <summary>
    /// A replica finds its snapshot's head damaged (sending chunks, or when its file is first mapped) only where a fault
    /// damaged its file: otherwise, a finding.
    /// </summary>
    private void NoteHeaderDamage()
    {
        var damaged = Core.SnapshotHeadersDamaged;
        if (damaged == _headersDamagedSeen)
        {
            return;
        }

        if (!_sim.DamagedSnapshots.Contains((Id, Core.SnapshotSlot)))
        {
            throw new InvalidDataException($"replica {Id} found its snapshot's header damaged, whose file no fault damaged: {Core.LastSnapshotDamage}");
        }

        _sim.Faults.DamagedHeadersSentFromMemory += damaged - _headersDamagedSeen;
        _headersDamagedSeen = damaged;
    }

    private void NoteRebuilding()
    {
        if (_wasRebuilding && !Core.Rebuilding)
        {
            _sim.Faults.VotersRestored++;
        }

        _wasRebuilding = Core.Rebuilding;
    }

    long IReplicaLog.BytesSinceSnapshot => _storage!.BytesSinceSnapshot;

    bool IReplicaLog.SnapshotBusy => _snapshotInFlight is not null || _storage!.HasPendingSnapshot;

    (long Slot, ReadOnlyMemory<byte> Data)? IReplicaLog.TakeStoredSnapshot() => _storage!.TakeStoredSnapshot();

    /// <summary>
    /// Whether the log holds <paramref name="data"/>: the storage, or a write not yet appended (the server appends each
    /// Ready's records at once; this host does so when the disk gets to them). Without the second, the driver freed a
    /// snapshot's memory while its op waited for the disk, and the write that followed read freed memory.
    /// </summary>
    bool IReplicaLog.HoldsSnapshotBytes(ReadOnlyMemory<byte> data) =>
        _storage!.HoldsSnapshotBytes(data) || _writesQueued.Any(ops => ops.Any(op => op is SnapshotOp snapshot && snapshot.Data.Equals(data)));

    /// <summary>The records of each write handed over and not yet appended to the storage, oldest first.</summary>
    private readonly List<List<PersistOp>> _writesQueued = [];

    /// <summary>
    /// One write and fsync per Ready, one after another as a disk does them: the Ready's records are written when the
    /// previous fsync has finished and are durable 1–FsyncDelayMsMax ms later. A crash in between loses them, or keeps
    /// a torn prefix. The driver hears of the sync through <see cref="ReplicaDriver.Synced"/>.
    /// </summary>
    bool IReplicaLog.Write(IReadOnlyList<PersistOp> ops, long? syncToken)
    {
        var start = Math.Max(_lastFsyncDoneMs, _sim.NowMs);
        var done = start + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax);
        _lastFsyncDoneMs = done;
        var incarnation = Incarnation;
        var driver = _driver;
        var records = ops.ToList();
        _writesQueued.Add(records);
        _sim.Schedule(start, _sim.Tracing ? $"write r{Id} ops={records.Count}" : null, () =>
        {
            _writesQueued.Remove(records);
            if (Up && Incarnation == incarnation)
            {
                _storage!.Append(records);
                StartSnapshotWrite();
            }
        });
        _sim.Schedule(done, _sim.Tracing ? $"fsync r{Id} ops={records.Count}" : null, () =>
        {
            if (!Up || Incarnation != incarnation)
            {
                return;
            }

            _storage!.Sync();
            StartCleanup();
            DurablyRebuilding &= !records.Any(op => op is VoterOp);
            if (syncToken is { } token)
            {
                driver.Synced(token);
                NoteRebuilding();
            }
        });
        return syncToken is null;
    }

    /// <summary>
    /// As the server does on a thread of its own beside the restore: the installed snapshot's temporary file is written
    /// (and synced) before the write that publishes it, unless the replica crashed in between; the storage writes it
    /// itself if it was not.
    /// </summary>
    void IReplicaLog.PrepareInstall(SnapshotOp snapshot)
    {
        if (_storage!.PrepareInstall(snapshot) is not { } write)
        {
            return;
        }

        var incarnation = Incarnation;
        _sim.Faults.InstallsPrepared++;
        _sim.Schedule(_sim.NowMs, _sim.Tracing ? $"prepare install r{Id} slot={snapshot.Slot}" : null, () =>
        {
            if (Up && Incarnation == incarnation)
            {
                write.WriteTemporary();
            }
        });
    }

    void IPeerOutbox.Send(IReadOnlyList<Message> messages)
    {
        foreach (var message in messages)
        {
            // A snapshot chunk is a view of the sender's copy, which may be its file's mapping: copied as a socket
            // copies it at send, so that damage done to the file later does not reach chunks already on their way.
            _sim.SendPeerMessage(message is InstallSnapshot chunk ? chunk with { Chunk = chunk.Chunk.ToArray() } : message);
        }
    }

    /// <summary>Serialises a snapshot a little later, as the server does on a pool thread, while the replica goes on applying into the overlay.</summary>
    void IBackgroundWork.SerializeSnapshot(KvStateMachine stateMachine, KvSnapshotJob job)
    {
        var incarnation = Incarnation;
        var driver = _driver;
        _sim.Schedule(_sim.NowMs + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax), _sim.Tracing ? $"serialise r{Id} slot={job.Slot}" : null, () =>
        {
            if (Up && Incarnation == incarnation)
            {
                if (_sim.BeforeUpgrade && !stateMachine.RevisionsStarted)
                {
                    // The build before revisions writes snapshot format 2 (after the configuration envelope it starts with).
                    var data = job.Serialize();
                    data = [.. data.AsSpan(0, job.PrefixBytes), .. Synod.Tests.Kv.KvSnapshotFormats.Format2(data[job.PrefixBytes..])];
                    _sim.Faults.OldFormatSnapshots++;
                    driver.SnapshotSerialized(stateMachine, job, data, null, 0);
                }
                else
                {
                    // As the server does: into memory outside the collected heap, lent to the core and given back by the
                    // driver once nothing holds it; a read after that fails (ObjectDisposedException), and so the run.
                    SnapshotMemory? memory = null;
                    var data = job.Serialize(bytes => (memory = new SnapshotMemory(bytes)).Memory);
                    driver.SnapshotSerialized(stateMachine, job, data, null, 0, memory);
                }

                Process();
            }
        });
    }

    void IReplicaEvents.RoleChanged(ReplicaRole role) => _sim.Faults.LeaderChanges += role == ReplicaRole.Leader ? 1 : 0;

    void IReplicaEvents.Applied(long slot, byte[][] commands) => _sim.Oracle.OnApplied(Id, slot, commands);

    void IReplicaEvents.SnapshotInstalled(long slot, int keys, ReplicaRole roleWhenInstalled)
    {
        _sim.Oracle.OnSnapshotInstalled(Id, slot);
        _sim.Faults.SnapshotsInstalled++;
        _sim.Faults.SnapshotsInstalledByCandidates += roleWhenInstalled == ReplicaRole.Candidate ? 1 : 0;
    }

    /// <summary>No snapshot every SnapshotEverySlots while set (a snapshot thread that falls behind; a targeted fault's step).</summary>
    public bool SnapshotsPaused
    {
        get => _driver.SnapshotsPaused;
        set => _driver.SnapshotsPaused = value;
    }

    /// <summary>A snapshot at the applied slot started now and serialised in the background, as the trigger's is (a targeted fault's step).</summary>
    public bool SnapshotInBackgroundNow()
    {
        if (!Up || !_driver.SnapshotInBackgroundNow())
        {
            return false;
        }

        Process();
        return true;
    }

    /// <summary>The bytes of snapshot memory the driver has lent its core and not yet given back.</summary>
    public long SnapshotMemoryHeldBytes => _driver.SnapshotMemoryHeldBytes;

    /// <summary>A snapshot at the applied slot now, not at the next multiple of SnapshotEverySlots (a targeted fault's step).</summary>
    public bool CompactNow()
    {
        if (!Up || !_driver.CompactNow())
        {
            return false;
        }

        Process();
        return true;
    }

    private StorageCleanup? _cleanupInFlight;

    /// <summary>
    /// Deletes the files a compaction let go a little later, as the server does on another thread once the checkpoint
    /// is synced; a crash before then leaves them for recovery to delete.
    /// </summary>
    private void StartCleanup()
    {
        if (_cleanupInFlight is not null || _storage!.TakeCleanup() is not { } cleanup)
        {
            return;
        }

        _cleanupInFlight = cleanup;
        var incarnation = Incarnation;
        _sim.Schedule(_sim.NowMs + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax * 2), _sim.Tracing ? $"cleanup r{Id} segments={cleanup.Segments.Count}" : null, () =>
        {
            if (!Up || Incarnation != incarnation)
            {
                return;
            }

            cleanup.Run();
            _storage!.CompleteCleanup(cleanup);
            _cleanupInFlight = null;
            StartCleanup();
        });
    }

    /// <summary>While above 0, each snapshot file write takes this many ms more (a slow disk; a targeted fault's step).</summary>
    public long SnapshotWriteDelayMs { get; set; }

    /// <summary>Writes the pending snapshot a little later, as the server does on another thread, while serving goes on.</summary>
    private void StartSnapshotWrite()
    {
        if (_snapshotInFlight is not null || _storage!.TakePendingSnapshot() is not { } write)
        {
            return;
        }

        _snapshotInFlight = write;
        var incarnation = Incarnation;
        _sim.Schedule(_sim.NowMs + 1 + _sim.Random.Next(_sim.Options.FsyncDelayMsMax * 2) + SnapshotWriteDelayMs, _sim.Tracing ? $"snapshot r{Id} slot={write.Slot}" : null, () =>
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
            StartCleanup();
        });
    }

    /// <summary>A simulated client's attempt waiting for a write; it gave up once the client moved on to another attempt.</summary>
    private sealed class WriteAnswer(SimReplicaHost host, ClientRequest request) : IAnswer<WriteOutcome>
    {
        public bool Abandoned => !host._sim.IsCurrentAttempt(request.Client, request.Attempt);

        public void Complete(WriteOutcome result)
        {
            // An auth change that finds its user or role there already was made by an earlier copy (under a session since gone).
            var ok = result.Status is KvStatus.Ok or KvStatus.NotFound or KvStatus.CompareFailed or KvStatus.AuthExists or KvStatus.AuthRootRequired or KvStatus.AuthFull;
            var gone = result.Status is KvStatus.SessionExpired or KvStatus.UnknownClient;
            bool? swapped = (request.Kind == OperationKind.Cas || request.Txn is not null) && ok ? result.Status == KvStatus.Ok : null;
            host._sim.SendClientReply(host.Id, new ClientReply(request.Client, request.Attempt, ok, null, result.Status.ToString(), result.RegisteredClientId, gone, swapped)
            {
                Revision = result.Revision,
                Denied = result.Status == KvStatus.PermissionDenied,
            });
        }

        /// <summary>Not ok and not "session gone": the client retries, and a retry's refusal then counts as outcome unknown.</summary>
        public void Fail(ReplicaFailure failure) =>
            host._sim.SendClientReply(host.Id, new ClientReply(request.Client, request.Attempt, false, null, failure.ToString()) { NoSpace = failure == ReplicaFailure.NoSpace });
    }

    private sealed class RangeAnswer(SimReplicaHost host, ClientRequest request) : IAnswer<RangeOutcome>
    {
        public bool Abandoned => !host._sim.IsCurrentAttempt(request.Client, request.Attempt);

        public void Complete(RangeOutcome result) =>
            host._sim.SendClientReply(host.Id, new ClientReply(request.Client, request.Attempt, true, null, result.Refused?.Message ?? "range", Found: result.Result.Entries.ToDictionary(
                kv => Encoding.UTF8.GetString(kv.Key), kv => Encoding.UTF8.GetString(kv.Entry.Value.Span)))
            {
                Revision = result.Revision,
                Refused = result.Refused,
            });

        public void Fail(ReplicaFailure failure) =>
            host._sim.SendClientReply(host.Id, new ClientReply(request.Client, request.Attempt, false, null, "no leader for a read index"));
    }

    private sealed class ReadAnswer(SimReplicaHost host, ClientRequest request) : IAnswer<ReadOutcome>
    {
        public bool Abandoned => !host._sim.IsCurrentAttempt(request.Client, request.Attempt);

        public void Complete(ReadOutcome result) =>
            host._sim.SendClientReply(host.Id, new ClientReply(request.Client, request.Attempt, true, result.Value is null ? null : Encoding.UTF8.GetString(result.Value.Value.Span), "read")
            {
                Revision = result.Revision,
                Refused = result.Refused,
            });

        public void Fail(ReplicaFailure failure) =>
            host._sim.SendClientReply(host.Id, new ClientReply(request.Client, request.Attempt, false, null, "no leader for a read index"));
    }
}
