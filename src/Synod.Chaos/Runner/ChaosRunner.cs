using System.Net.Sockets;
using Synod.Server;

namespace Synod.Chaos;

/// <summary>
/// `synod chaos` as a library: starts a fresh cluster of real replica processes whose peer traffic runs through
/// link proxies (<see cref="PartitionNetwork"/>), runs concurrent clients against it while a seeded schedule kills,
/// pauses, restarts, wipes and partitions replicas, then heals everything, waits for the replicas to agree, checks
/// the whole client history for linearizability and returns a <see cref="ChaosResult"/>. Every process it starts is
/// stopped, by its own process id, on every way out (including cancellation). See docs/chaos.md.
/// </summary>
public sealed partial class ChaosRunner
{
    /// <summary>How often the fault loop looks at the cluster and acts.</summary>
    private const int FaultTickMs = 100;

    private const int HeartbeatIntervalMs = 500;

    /// <summary>Faults begin only after the cluster has served for this long, so the first leader is settled.</summary>
    private const double FirstFaultDelaySeconds = 1.5;

    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

    private readonly ChaosOptions _options;
    private readonly RunClock _clock = new();
    private readonly FaultTimeline _timeline = new();
    private readonly HistoryRecorder _history = new();
    private readonly ChangeLog _changes = new();
    private readonly BankLedger _bank = new();
    private readonly LockLedger _locks = new();
    private readonly CancellationTokenSource _stopWatchers = new();
    private List<ChaosWatcher> _watchers = [];
    private List<Task> _watching = [];

    /// <summary>The planner's picture at every fault tick, for <see cref="QuorumStall"/>.</summary>
    private readonly List<FaultPicture> _pictures = [];
    /// <summary>Every replica started so far, removed ones included; replaced whole (copy on write) when one is added, as the display reads it from another thread.</summary>
    private volatile IReadOnlyDictionary<int, ChaosReplica> _replicas = new Dictionary<int, ChaosReplica>();
    private PeerCertificateFiles? _certificates;
    private readonly HashSet<int> _cutOff = [];
    private readonly Dictionary<int, int> _exitsOnTheirOwn = [];
    private readonly string _workDir;
    private readonly string _outDir;
    private IChaosNetwork? _network;
    private ReplicaMonitor? _monitor;
    private FaultPlanner? _planner;
    private double? _partitionHealAt;
    private double _faultPhaseEnd = double.NaN;
    private volatile int _leader;
    private volatile string _phase = "starting";
    private int _started;

    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public ChaosRunner(ChaosOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _workDir = Path.Combine(Path.GetTempPath(), $"synod-chaos-{Environment.ProcessId}-{Guid.NewGuid():N}");
        _outDir = options.OutDir is { } outDir ? Path.GetFullPath(outDir) : Path.Combine(_workDir, "out");
    }

    /// <summary>Where the replicas' logs are written while the run goes on.</summary>
    public string LogDir => Path.Combine(_outDir, "logs");

    /// <summary>Runs the whole experiment, once; throws <see cref="OperationCanceledException"/> when cancelled, after stopping every process.</summary>
    /// <exception cref="ChaosSetupException">The cluster could not be started or never elected a leader.</exception>
    public async Task<ChaosResult> RunAsync(CancellationToken cancellation)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("this ChaosRunner has run already; a run starts a fresh cluster, so create a new runner for it.");
        }

        Directory.CreateDirectory(LogDir);
        var passed = false;
        try
        {
            StartCluster();
            using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            var heartbeats = HeartbeatLoopAsync(heartbeatStop.Token);
            try
            {
                await WaitForLeaderAsync(cancellation);
                var (start, end, healStart) = await RunWorkloadAsync(cancellation);
                var result = await FinishAsync(start, end, healStart, cancellation);
                passed = result.Passed;
                return result;
            }
            finally
            {
                await heartbeatStop.CancelAsync();
                await heartbeats;
            }
        }
        finally
        {
            await StopEverythingAsync(keepOutput: _options.OutDir is null && !passed);
        }
    }

    /// <summary>The run as it stands, for a live display; safe to call from any thread.</summary>
    public ChaosProgress Progress()
    {
        var latest = _monitor?.Latest ?? new Dictionary<int, ReplicaHealth>();
        var views = _replicas.Values.OrderBy(r => r.Id).Select(r =>
        {
            var health = latest.GetValueOrDefault(r.Id) ?? ReplicaHealth.Unknown(r.Id);
            var current = health.Serving && health.ProcessId == r.ProcessId;
            return new ReplicaView(r.Id, r.State, current, r.Removed ? "removed" : current ? health.Role : "-", r.RebuildPending, IsCutOff(r.Id), health.AppliedSlot, r.ProcessId);
        }).ToList();
        var (ok, failed, unknown) = _history.Counts;
        var now = _clock.Now;
        var leader = views.Where(v => v.State == ReplicaRunState.Running && v.Serving && v.Role == "leader").Select(v => (int?)v.Id).LastOrDefault();
        var events = _timeline.Events;
        return new ChaosProgress(
            _phase, now, double.IsNaN(_faultPhaseEnd) ? null : Math.Max(0, _faultPhaseEnd - now), views, leader, ok, failed, unknown,
            FaultCounts.From(_timeline), _network?.Description ?? "-", events.LastOrDefault(e => e.Kind != FaultTimeline.Leader));
    }

    private bool IsCutOff(int id)
    {
        lock (_cutOff)
        {
            return _cutOff.Contains(id);
        }
    }

    private void StartCluster()
    {
        // Every id the run may use gets its port, its proxies and its certificate now; spare ids start only when a
        // membership change adds them.
        var first = Enumerable.Range(1, _options.Replicas).ToList();
        Dictionary<int, string> listen;
        try
        {
            if (_options.Netns)
            {
                // One namespace per id the run may use, each replica on its own address (issue 20).
                // Delays need the user-space switch (this kernel has no netem); without them the bridge costs nothing.
                _network = _options.Faults.Contains(FaultKind.Delay)
                    ? NetnsNetwork.CreateShaped([.. Enumerable.Range(1, _options.IdsMax)], TunSwitch.LinkShape.None)
                    : NetnsNetwork.Create([.. Enumerable.Range(1, _options.IdsMax)]);
                listen = Enumerable.Range(1, _options.IdsMax).ToDictionary(id => id, _network.ListenEndpoint);
            }
            else
            {
                var reserved = ReplicaPorts.Reserve(_options.IdsMax);
                listen = Enumerable.Range(1, _options.IdsMax).ToDictionary(id => id, id => $"127.0.0.1:{ReplicaPorts.Port(reserved[id - 1])}");
                try
                {
                    _network = PartitionNetwork.Start(listen);
                }
                finally
                {
                    reserved.ForEach(l => l.Stop());
                }
            }

            var network = _network;
            // Peer traffic runs through the proxies, which forward TLS bytes like any others.
            _certificates = PeerCertificates.WriteDevelopmentSet(Path.Combine(_workDir, "certs"), PeerCertificates.DefaultCluster, [.. listen.Keys], [], force: true);
            _replicas = first.ToDictionary(id => id, id => NewReplica(id, ["--peers", network.PeersFor(id, first)]));
            _voterSets = [first];
            _nextSpareId = _options.Replicas + 1;

            _monitor = new ReplicaMonitor(listen, _clock);
            foreach (var replica in _replicas.Values)
            {
                Directory.CreateDirectory(replica.DataDir);
                replica.Start(["--new-cluster"], _clock.Now);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException or SocketException or ArgumentException)
        {
            throw new ChaosSetupException($"could not start the cluster ({e.Message}); replica logs are in {LogDir}.", e);
        }
    }

    /// <summary>Replica <paramref name="id"/>'s process: its listen endpoint, data folder, log, certificate and routes through the proxies.</summary>
    private ChaosReplica NewReplica(int id, IReadOnlyList<string> clusterArgs) =>
        new(id, [.. _network!.ProgramPrefix(id), .. _options.ReplicaProgram], _options.TickMs, _network.ListenEndpoint(id), clusterArgs, _network.RoutesFor(id), Path.Combine(_workDir, "data", $"r{id}"),
            Path.Combine(LogDir, $"r{id}.log"), _certificates!.ServeArgs(id));

    private async Task WaitForLeaderAsync(CancellationToken cancellation)
    {
        _phase = "waiting for a leader";
        var deadline = _clock.Now + _options.StartupTimeout.TotalSeconds;
        while (_clock.Now < deadline)
        {
            await Task.Delay(FaultTickMs, cancellation);
            ObserveReplicas(_clock.Now);
            if (_leader != 0)
            {
                return;
            }
        }

        throw new ChaosSetupException(
            $"no replica became leader within {_options.StartupTimeout.TotalSeconds:0} s of starting; the replica logs in {LogDir} say why.");
    }

    private async Task HeartbeatLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _monitor!.BeatAsync(stop);
                NoteLeader();
                await Task.Delay(HeartbeatIntervalMs, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Records a new leader in the timeline: the replica whose current process says it leads.</summary>
    private void NoteLeader()
    {
        var latest = _monitor!.Latest;
        var leader = _replicas.Values
            .Where(r => r.State == ReplicaRunState.Running && !r.Removed && latest[r.Id] is { Serving: true, Role: "leader" } h && h.ProcessId == r.ProcessId)
            .Select(r => (int?)r.Id)
            .LastOrDefault();
        if (leader is int id && id != _leader)
        {
            _leader = id;
            _timeline.Add(new FaultEvent(_clock.Now, FaultTimeline.Leader, [id], false, $"replica {id} leads"));
        }
        else if (leader is null)
        {
            _leader = 0;
        }
    }
}
