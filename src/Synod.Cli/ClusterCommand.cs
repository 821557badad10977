using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Synod.Chaos;
using Synod.Client;
using Synod.Server;
using Synod.Storage;

namespace Synod.Cli;

/// <summary>
/// `synod cluster`: a local cluster of N replica processes on 127.0.0.1, data under --data-dir. It prints each
/// replica's endpoint and the leader, reports replicas that exit and leader changes, and on Ctrl-C or SIGTERM stops
/// every replica cleanly. Run again with the same --data-dir, it reuses the data. Replicas authenticate each other
/// with certificates it makes on the first run in DATA_DIR/certs (again if that folder is gone).
/// </summary>
public static class ClusterCommand
{
    private const int ReplicasMin = 3;
    private const int StartupWaitMs = 20_000;
    private const int StopWaitMs = 10_000;
    private const int WatchIntervalMs = 500;

    public static Command Create()
    {
        var replicas = new Option<int>("--replicas") { Description = "Number of replicas (odd, 3 or more).", DefaultValueFactory = _ => 5 };
        var dataDir = new Option<string>("--data-dir") { Description = "Where the replicas keep their data (one folder each).", DefaultValueFactory = _ => "synod-data" };
        var basePort = new Option<int>("--base-port") { Description = "Replica N listens on base-port + N - 1.", DefaultValueFactory = _ => 7001 };
        var httpBasePort = new Option<int?>("--http-base-port")
        {
            Description = $"Replica N serves its dashboard and /metrics (serve --http) on http-base-port + N - 1 (default: base-port + {HttpPortOffset}; 0: no HTTP endpoint).",
        };
        var insecurePeers = new Option<bool>("--insecure-peers")
        {
            Description = "Replicas talk plain TCP to each other, unauthenticated (for measuring what peer TLS costs; never on a shared host).",
        };
        var tls = new Option<bool>("--tls")
        {
            Description = "Serve clients over TLS with the replicas' own certificates (DATA_DIR/certs); cluster.json names the CA, so the client commands keep working unchanged.",
        };
        var clusterToken = new Option<string?>("--cluster-token")
        {
            Description = "Names a new cluster (default: a random one); kept in DATA_DIR/cluster-token and cluster.json. A later run may repeat it, not change it.",
        };
        var command = new Command("cluster", "Start a local cluster of replica processes on 127.0.0.1 and keep it running until Ctrl-C.")
        {
            replicas, dataDir, basePort, httpBasePort, insecurePeers, clusterToken, tls,
        };
        command.Subcommands.Add(ClusterMembershipCommands.Add());
        command.Subcommands.Add(ClusterMembershipCommands.Remove());
        command.SetAction(async (parse, cancellation) =>
        {
            var count = parse.GetValue(replicas);
            var port = parse.GetValue(basePort);
            var directory = Path.GetFullPath(parse.GetValue(dataDir)!);
            try
            {
                Core.ReplicaOptions.RequireOddReplicaCount(count, "--replicas", ReplicasMin);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            if (port < 1 || port + count - 1 > 65535)
            {
                Console.Error.WriteLine($"error: --base-port {port}: ports {port}..{port + count - 1} must lie within 1..65535.");
                return ExitCodes.InvalidInput;
            }

            var httpPort = parse.GetValue(httpBasePort) ?? port + HttpPortOffset;
            if (httpPort != 0 && (httpPort < 1 || httpPort + count - 1 > 65535 || (httpPort < port + count && port < httpPort + count)))
            {
                Console.Error.WriteLine($"error: --http-base-port {httpPort}: ports {httpPort}..{httpPort + count - 1} must lie within 1..65535, apart from the replicas' {port}..{port + count - 1}; or give 0 for no HTTP endpoint.");
                return ExitCodes.InvalidInput;
            }

            var token = parse.GetValue(clusterToken);
            if (token is not null && (string.IsNullOrWhiteSpace(token) || token.Length > ServerOptions.ClusterTokenCharsMax))
            {
                Console.Error.WriteLine($"error: --cluster-token must be 1 to {ServerOptions.ClusterTokenCharsMax} characters, not blank.");
                return ExitCodes.InvalidInput;
            }

            if (parse.GetValue(tls) && parse.GetValue(insecurePeers))
            {
                Console.Error.WriteLine("error: give --tls or --insecure-peers, not both: --tls serves clients with the peer certificates that --insecure-peers does without.");
                return ExitCodes.InvalidInput;
            }

            return await new LocalCluster(count, port, httpPort, directory, parse.GetValue(insecurePeers), token, parse.GetValue(tls)).RunAsync(cancellation);
        });
        return command;
    }

    /// <summary>The supervisor's state: which replica runs as which process.</summary>
    /// <summary>How far above --base-port the replicas' HTTP endpoints lie by default.</summary>
    private const int HttpPortOffset = 1000;

    private sealed class LocalCluster(int count, int basePort, int httpBasePort, string directory, bool insecurePeers, string? givenToken, bool tls)
    {
        /// <summary>How the supervisor itself talks to the replicas: over TLS trusting the cluster's CA with --tls; set once the certificates exist.</summary>
        private SynodClientTls? _clientTls;

        private const string SupervisorLockFileName = "cluster.lock";

        /// <summary>Where a cluster's --cluster-token is kept (also in cluster.json, which may be lost or rewritten).</summary>
        private const string ClusterTokenFileName = "cluster-token";

        private readonly Dictionary<int, ReplicaProcess> _processes = [];
        private IDisposable? _supervisorLock;
        /// <summary>The first configuration's replicas (every one's --peers), removed ones included.</summary>
        private readonly Dictionary<int, string> _initial = Enumerable.Range(1, count).ToDictionary(i => i, i => $"127.0.0.1:{basePort + i - 1}");

        /// <summary>The replicas this supervisor runs: the first configuration's less those removed, and those that joined since.</summary>
        private readonly Dictionary<int, string> _endpoints = Enumerable.Range(1, count).ToDictionary(i => i, i => $"127.0.0.1:{basePort + i - 1}");

        /// <summary>Replicas that joined the running cluster (restarted with --join), and replicas removed from it (not started again).</summary>
        private readonly HashSet<int> _joined = [];
        private readonly HashSet<int> _removed = [];

        /// <summary>Replicas that joined and were removed since: kept in cluster.json (marked removed) so that none is started again.</summary>
        private readonly Dictionary<int, string> _removedJoined = [];

        /// <summary>Starts of a member that exited with an error, by id, and when the next may be tried (a joiner whose peers were slow).</summary>
        private readonly Dictionary<int, (int Tries, DateTime NextAt)> _retries = [];
        private const int JoinTriesMax = 5;

        /// <summary>Local members whose port another process holds: reported once, not started.</summary>
        private readonly HashSet<int> _portBusyReported = [];
        private readonly string _configPath = Path.Combine(directory, ClusterConfig.FileName);
        private PeerCertificateFiles _certificates = new(Path.Combine(directory, "certs"));

        /// <summary>Drawn at random for a new cluster and kept in cluster.json; a cluster.json from before tokens means the default.</summary>
        private string _clusterToken = Server.ServerOptions.ClusterTokenDefault;

        public async Task<int> RunAsync(CancellationToken cancellation)
        {
            if (CheckDataDirectory() is { } problem || CheckPortsFree() is { } busy && (problem = busy) is not null)
            {
                Console.Error.WriteLine($"error: {problem}");
                return ExitCodes.InvalidInput;
            }

            if (!insecurePeers && PrepareCertificates() is { } certificateProblem)
            {
                Console.Error.WriteLine($"error: {certificateProblem}");
                return ExitCodes.Failure;
            }

            if (tls)
            {
                _clientTls = SynodClientTls.FromPemFiles(_certificates.Authority, null, null);
                Console.WriteLine($"Clients: TLS, trusting {_certificates.Authority} (named in {_configPath}, so client commands find it)");
            }

            var newCluster = !File.Exists(_configPath) && !_endpoints.Keys.Any(HeldState);
            _clusterToken = newCluster ? NewClusterToken() : KnownClusterToken();
            if (!newCluster && givenToken is not null && givenToken != _clusterToken)
            {
                Console.Error.WriteLine($"error: {directory} holds a cluster whose --cluster-token is \"{_clusterToken}\", not \"{givenToken}\": a cluster keeps its token. Leave --cluster-token out, give the same one, or give another --data-dir for a new cluster.");
                return ExitCodes.InvalidInput;
            }

            Console.WriteLine($"Starting {_endpoints.Count} replicas, data in {directory}");
            try
            {
                foreach (var id in _endpoints.Keys)
                {
                    _processes[id] = StartReplica(id, StartMode(id, newCluster));
                }
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
            {
                Console.Error.WriteLine($"error: could not start every replica ({e.Message}); stopping the ones that started.");
                await StopAllAsync();
                return ExitCodes.Failure;
            }

            SaveConfig();
            try
            {
                await ReportStartupAsync(cancellation);
                await WatchAsync(cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                // Ctrl-C or SIGTERM: stop below.
            }
            finally
            {
                await StopAllAsync();
            }

            return ExitCodes.Ok;
        }

        /// <summary>
        /// A new cluster's token, kept on its own in DATA_DIR/cluster-token (tmp, fsync, rename, fsync of the folder)
        /// before any replica is stamped with the id it makes: cluster.json may be deleted or rewritten by another build,
        /// and a lost token would leave every replica refusing to start.
        /// </summary>
        private string NewClusterToken()
        {
            var token = givenToken ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            DurableFile.Replace(new RealDisk(), Path.Combine(directory, ClusterTokenFileName), System.Text.Encoding.UTF8.GetBytes(token));
            return token;
        }

        /// <summary>The token of an existing cluster: DATA_DIR/cluster-token, else cluster.json's, else the default (a cluster from before tokens).</summary>
        private string KnownClusterToken()
        {
            var path = Path.Combine(directory, ClusterTokenFileName);
            if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } saved)
            {
                return saved;
            }

            return (File.Exists(_configPath) ? ClusterConfig.Load(_configPath).ClusterToken : null) ?? Server.ServerOptions.ClusterTokenDefault;
        }

        private string? CheckDataDirectory()
        {
            Directory.CreateDirectory(directory);

            // Held for the life of this supervisor: a second `synod cluster` on the same folder is refused even before
            // any replica has started. The kernel drops it when the process dies, however it dies.
            try
            {
                _supervisorLock = new RealDisk().Lock(Path.Combine(directory, SupervisorLockFileName));
            }
            catch (DiskLockedException)
            {
                return $"a cluster is already running from {directory} (another `synod cluster` holds {SupervisorLockFileName}). " +
                    "Stop it first (Ctrl-C in its terminal), or use another --data-dir.";
            }

            if (!File.Exists(_configPath))
            {
                return null;
            }

            var existing = ClusterConfig.Load(_configPath);
            var running = existing.Replicas.Where(r => ReplicaRunning(r.Id)).ToList();
            if (running.Count > 0)
            {
                return $"replicas {string.Join(", ", running.Select(r => r.Id))} of the cluster in {directory} are still running (they hold their data folders' {ReplicaStorage.LockFileName}" +
                    $"{(running.Any(r => r.ProcessId is not null) ? $"; last known processes {string.Join(", ", running.Select(r => r.ProcessId))}" : "")}). " +
                    "Stop them first, or use another --data-dir.";
            }

            var first = existing.Replicas.Count(r => r.Joined != true);
            if (first != count)
            {
                return $"{directory} holds a cluster whose first configuration had {first} replicas; run with --replicas {first}, or use another --data-dir.";
            }

            foreach (var replica in existing.Replicas)
            {
                if (replica.Removed == true)
                {
                    _removed.Add(replica.Id);
                    _endpoints.Remove(replica.Id);
                    if (replica.Joined == true)
                    {
                        _removedJoined[replica.Id] = replica.Endpoint;
                    }
                }
                else if (replica.Joined == true)
                {
                    _joined.Add(replica.Id);
                    _endpoints[replica.Id] = replica.Endpoint;
                }
            }

            return null;
        }

        /// <summary>
        /// Whether a process holds replica <paramref name="id"/>'s data folder: its LOCK, which the storage holds for the
        /// replica's life and the kernel releases when it dies. Process ids are not asked: after a kill -9 they may
        /// belong to anything.
        /// </summary>
        private bool ReplicaRunning(int id)
        {
            var lockPath = Path.Combine(directory, $"r{id}", ReplicaStorage.LockFileName);
            if (!File.Exists(lockPath))
            {
                return false;
            }

            try
            {
                new RealDisk().Lock(lockPath).Dispose();
                return false;
            }
            catch (DiskLockedException)
            {
                return true;
            }
        }

        private string? CheckPortsFree()
        {
            foreach (var (id, endpoint) in _endpoints)
            {
                if (IsLocalPort(endpoint, out var port) && !LoopbackPort.IsFree(port))
                {
                    return $"port {port} (replica {id}, {endpoint}) is already in use; free it or choose another --base-port.";
                }

                if (HttpOf(id) is { } http && IsLocalPort(http, out var httpPort) && !LoopbackPort.IsFree(httpPort))
                {
                    return $"port {httpPort} (replica {id}'s dashboard and metrics, {http}) is already in use; free it or choose another --http-base-port (0: none).";
                }
            }

            return null;
        }

        /// <summary>Replica <paramref name="id"/>'s HTTP endpoint (/metrics), or null with --http-base-port 0.</summary>
        private string? HttpOf(int id) => httpBasePort == 0 || httpBasePort + id - 1 > 65535 ? null : $"127.0.0.1:{httpBasePort + id - 1}";

        private IEnumerable<string> HttpArgs(int id) => HttpOf(id) is { } http ? ["--http", http] : [];

        private IEnumerable<string> PeerArgs(int id) =>
            insecurePeers ? ["--insecure-peers"]
            : tls ? [.. _certificates.ServeArgs(id), "--tls-cert", _certificates.Certificate(id), "--tls-key", _certificates.Key(id)]
            : _certificates.ServeArgs(id);

        /// <summary>The replicas' certificates: made on the first run (or when the folder is gone), reused after.</summary>
        private string? PrepareCertificates()
        {
            var existed = Directory.Exists(_certificates.Directory);
            try
            {
                _certificates = PeerCertificates.EnsureDevelopmentSet(_certificates.Directory, PeerCertificates.DefaultCluster, [.. _endpoints.Keys]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                return $"cannot use the peer certificates in {_certificates.Directory} ({e.Message}); move the folder aside and run again to make new ones.";
            }

            Console.WriteLine(existed
                ? $"Peer certificates: {_certificates.Directory} (reused)"
                : $"Peer certificates: made a development CA and one certificate per replica in {_certificates.Directory}");
            return null;
        }

        /// <summary>
        /// The first run bootstraps a new cluster. Later, a replica whose data is gone (its folder deleted) must not
        /// vote as if it remembered its promises: it rejoins with --rebuild-from-peers.
        /// </summary>
        /// <summary>Whether replica <paramref name="id"/>'s folder holds, or once held, Synod state (then it is no new cluster).</summary>
        private bool HeldState(int id)
        {
            var replicaDir = Path.Combine(directory, $"r{id}");
            return File.Exists(Path.Combine(replicaDir, ReplicaStorage.MetaFileName)) ||
                (Directory.Exists(replicaDir) && Directory.EnumerateDirectories(replicaDir, "discarded-*").Any());
        }

        private string? StartMode(int id, bool newCluster)
        {
            if (newCluster)
            {
                return "--new-cluster";
            }

            var replicaDir = Path.Combine(directory, $"r{id}");
            if (File.Exists(Path.Combine(replicaDir, ReplicaStorage.MetaFileName)))
            {
                return null;
            }

            if (_joined.Contains(id))
            {
                // A learner that lost its data starts empty again; `serve --join` refuses a voter with none.
                return "--new-cluster";
            }

            Console.WriteLine($"Replica {id} has no data in {replicaDir}: it rejoins with --rebuild-from-peers, as a non-voter until it has caught up.");
            return "--rebuild-from-peers";
        }

        private ReplicaProcess StartReplica(int id, string? mode)
        {
            var replicaDir = Path.Combine(directory, $"r{id}");
            Directory.CreateDirectory(replicaDir);
            string[] serveArgs = ["--id", $"{id}", .. ClusterArgs(id), "--data-dir", replicaDir, "--cluster-token", _clusterToken, .. PeerArgs(id), .. HttpArgs(id)];
            var replica = new ReplicaProcess(id, SelfProgram(), serveArgs, Path.Combine(replicaDir, "replica.log"), appendLog: true);
            try
            {
                replica.Start(mode is null ? [] : [mode], "synod cluster");
            }
            catch
            {
                replica.Dispose();
                throw;
            }

            return replica;
        }

        /// <summary>
        /// How replica <paramref name="id"/> finds the cluster: the first configuration's members by --peers, the ones
        /// that joined later by --join (the others' endpoints: they fetch the configuration and their own endpoint).
        /// </summary>
        private string[] ClusterArgs(int id) => _joined.Contains(id)
            ? ["--join", string.Join(",", _endpoints.Where(e => e.Key != id).Select(e => e.Value))]
            : ["--peers", string.Join(",", _initial.Select(e => $"{e.Key}={e.Value}"))];

        /// <summary>This same program, whether it runs as an app host or as "dotnet synod.dll".</summary>
        private static string[] SelfProgram()
        {
            try
            {
                return [.. Cli.SelfProgram.Get()];
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
        }

        private void SaveConfig() => new ClusterConfig
        {
            ClusterToken = _clusterToken,
            TlsCa = tls ? _certificates.Authority : null,
            Replicas = [.. _initial.Concat(_endpoints.Where(e => _joined.Contains(e.Key))).Concat(_removedJoined)
                .Select(e => new ClusterConfig.ReplicaEntry
                {
                    Id = e.Key,
                    Endpoint = e.Value,
                    ProcessId = _processes.TryGetValue(e.Key, out var p) && !p.HasExited ? p.ProcessId : null,
                    Http = HttpOf(e.Key),
                    DataDir = Path.Combine(directory, $"r{e.Key}"),
                    Joined = _joined.Contains(e.Key) ? true : null,
                    Removed = _removed.Contains(e.Key) ? true : null,
                })],
        }.Save(_configPath);

        private async Task ReportStartupAsync(CancellationToken cancellation)
        {
            using var probe = new ClusterProbe(_endpoints, _clientTls);
            var leader = await probe.WaitForLeaderAsync(TimeSpan.FromMilliseconds(StartupWaitMs), cancellation);
            Console.WriteLine();
            Console.WriteLine("  id  endpoint          metrics                         pid      log");
            foreach (var (id, endpoint) in _endpoints)
            {
                var marker = id == leader ? "  <- leader" : "";
                var metrics = HttpOf(id) is { } http ? $"http://{http}/metrics" : "-";
                Console.WriteLine($"  {id,-3} {endpoint,-17} {metrics,-31} {_processes[id].ProcessId,-8} {Path.Combine(directory, $"r{id}", "replica.log")}{marker}");
            }

            Console.WriteLine();
            Console.WriteLine(leader is int l
                ? $"Cluster ready: replica {l} leads. Try: ./synod put greeting hello --node {_endpoints.Keys.Min()} && ./synod get greeting --node {_endpoints.Keys.Max()}"
                : $"No leader after {StartupWaitMs / 1000} s; see the replica logs above. The cluster keeps trying.");
            if (HttpOf(_endpoints.Keys.Min()) is { } dashboard)
            {
                Console.WriteLine($"Dashboard: http://{dashboard}/ (every replica serves it on its HTTP endpoint, with /metrics).");
            }

            Console.WriteLine("Ctrl-C stops every replica cleanly.");
        }

        private async Task WatchAsync(CancellationToken cancellation)
        {
            var probe = new ClusterProbe(_endpoints, _clientTls);
            var probed = _endpoints.Count;
            var exited = new Dictionary<int, int>();
            int? lastLeader = null;
            try
            {
                while (true)
                {
                    await Task.Delay(WatchIntervalMs, cancellation);
                    var members = await FollowMembershipAsync(cancellation) ?? _lastMembers;
                    foreach (var (id, replica) in _processes.ToList())
                    {
                        if (replica.ExitedOnItsOwn(out var exitCode))
                        {
                            exited[id] = exitCode;
                            if (members is null || members.Members.Any(m => m.Id == id) || id > members.IdMax)
                            {
                                Console.WriteLine($"replica {id} (pid {replica.ProcessId}) exited with code {exitCode}; the others keep serving." +
                                    (_joined.Contains(id) && exitCode == ExitCodes.Unreachable && RetryJoin(id) ? " `synod cluster` starts it again shortly (a replica that joined needs another one to answer first)." : $" Restart it: {RestartCommand(id)}"));
                            }
                        }

                        // A replica that stopped and that the configuration no longer holds was removed, whenever it stopped.
                        if (exited.ContainsKey(id) && members is not null && !members.Members.Any(m => m.Id == id) && id <= members.IdMax)
                        {
                            Console.WriteLine($"replica {id} was removed from the cluster and has stopped (its data stays in {Path.Combine(directory, $"r{id}")}; its id is never used again).");
                            ForgetRemoved(id);
                            exited.Remove(id);
                            _retries.Remove(id);
                        }

                        SaveConfig();
                    }

                    foreach (var (id, (tries, nextAt)) in _retries.ToList())
                    {
                        if (DateTime.UtcNow >= nextAt && exited.ContainsKey(id) && _processes.ContainsKey(id))
                        {
                            exited.Remove(id);
                            TryStart(id, StartMode(id, newCluster: false), $"again (try {tries + 1} of {JoinTriesMax})");
                        }
                    }

                    if (probed != _endpoints.Count || _endpoints.Keys.Any(id => !probe.Knows(id)))
                    {
                        probe.Dispose();
                        probe = new ClusterProbe(_endpoints, _clientTls);
                        probed = _endpoints.Count;
                    }

                    var leader = await probe.FindLeaderAsync(cancellation);
                    if (leader is not null && leader != lastLeader)
                    {
                        if (lastLeader is not null)
                        {
                            Console.WriteLine($"leader is now replica {leader}");
                        }

                        lastLeader = leader;
                    }
                }
            }
            finally
            {
                probe.Dispose();
                if (_client is not null)
                {
                    await _client.DisposeAsync();
                }
            }
        }

        private SynodClient? _client;
        private string _clientEndpoints = "";
        private long _membershipLooks;
        private SynodMembers? _lastMembers;

        /// <summary>
        /// Follows the cluster's configuration as its leader knows it (every other look): starts a member with a local
        /// endpoint that this supervisor does not run yet (`synod cluster add`, or `synod member add ID=127.0.0.1:PORT`),
        /// with --join. Returns the configuration, or null if no leader answered this time.
        /// </summary>
        private async Task<SynodMembers?> FollowMembershipAsync(CancellationToken cancellation)
        {
            if (_membershipLooks++ % 2 != 0)
            {
                return _lastMembers;
            }

            var endpoints = string.Join(",", _endpoints.Values);
            if (_client is null || endpoints != _clientEndpoints)
            {
                if (_client is not null)
                {
                    await _client.DisposeAsync();
                }

                _client = new SynodClient(new SynodClientOptions { Endpoints = [.. _endpoints.Values], AttemptTimeout = TimeSpan.FromMilliseconds(WatchIntervalMs), Tls = _clientTls });
                _clientEndpoints = endpoints;
            }

            // The view of the replica that knows the most slots chosen: a lagging one may not know a member yet. Any
            // member some replica lists was chosen in the log, so starting it is never wrong.
            var members = await _client.MostAdvancedMembersAsync(TimeSpan.FromMilliseconds(WatchIntervalMs * _endpoints.Count), cancellation);

            // A look where only a lagging replica answered must not take the configuration back.
            if (members is null || (_lastMembers is not null &&
                (members.Revision < _lastMembers.Revision || (members.Revision == _lastMembers.Revision && members.CommitIndex < _lastMembers.CommitIndex))))
            {
                return _lastMembers;
            }

            _lastMembers = members;
            foreach (var member in members.Members)
            {
                if (_processes.ContainsKey(member.Id) || _removed.Contains(member.Id) || !IsLocalPort(member.Endpoint, out var port))
                {
                    continue;
                }

                if (!LoopbackPort.IsFree(port))
                {
                    if (_portBusyReported.Add(member.Id))
                    {
                        Console.WriteLine($"replica {member.Id} was added at {member.Endpoint}, whose port another process holds; start it yourself, or remove it: ./synod cluster remove {member.Id}");
                    }

                    continue;
                }

                // A learner with no state starts empty; `serve --join` refuses a voter with none (it must be replaced).
                _joined.Add(member.Id);
                _endpoints[member.Id] = member.Endpoint;
                if (TryStart(member.Id, StartMode(member.Id, newCluster: false), $"as a {member.Role} that joined at {member.Endpoint}; it catches up from the others"))
                {
                    SaveConfig();
                }
            }

            return members;
        }

        /// <summary>
        /// Starts replica <paramref name="id"/> (certificate first), saying so; on failure says why in one line and forgets
        /// it for now, so that a later look tries again, instead of stopping the whole cluster.
        /// </summary>
        private bool TryStart(int id, string? mode, string what)
        {
            try
            {
                if (!insecurePeers)
                {
                    _certificates = PeerCertificates.EnsureDevelopmentSet(_certificates.Directory, PeerCertificates.DefaultCluster, [id]);
                }

                _processes.Remove(id, out var old);
                old?.Dispose();
                _processes[id] = StartReplica(id, mode);
                Console.WriteLine($"replica {id} started {what} (log: {Path.Combine(directory, $"r{id}", "replica.log")})");
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                Console.WriteLine($"replica {id} could not be started ({e.Message}); `synod cluster` tries again shortly.");
                _processes.Remove(id);
                _joined.Remove(id);
                _endpoints.Remove(id);
                return false;
            }
        }

        /// <summary>Whether a joined replica that exited with an error is started again (a few times, a little later each time).</summary>
        private bool RetryJoin(int id)
        {
            var tries = _retries.GetValueOrDefault(id).Tries;
            if (tries >= JoinTriesMax)
            {
                return false;
            }

            _retries[id] = (tries + 1, DateTime.UtcNow + TimeSpan.FromSeconds(2 << tries));
            return true;
        }

        /// <summary>A replica removed from the cluster that has stopped: never started again.</summary>
        private void ForgetRemoved(int id)
        {
            _processes.Remove(id, out var process);
            process?.Dispose();
            if (_endpoints.Remove(id, out var endpoint) && _joined.Remove(id))
            {
                _removedJoined[id] = endpoint;
            }

            // Kept in cluster.json, marked removed: a member of the first configuration because the others' --peers
            // still name it, and every one so that no stale member list starts it again.
            _removed.Add(id);
        }

        private static bool IsLocalPort(string endpoint, out int port)
        {
            port = 0;
            return Synod.Protocol.HostPort.TryParse(endpoint, out var host, out port, out _) && Synod.Protocol.HostPort.IsLoopback(host);
        }

        private string RestartCommand(int id) =>
            $"./synod serve --id {id} {string.Join(" ", ClusterArgs(id))} --data-dir {Path.Combine(directory, $"r{id}")} " +
            $"--cluster-token {_clusterToken} " + string.Join(" ", PeerArgs(id));

        private async Task StopAllAsync()
        {
            Console.WriteLine("Stopping replicas...");
            var stopped = await Task.WhenAll(_processes.Values.Select(r => r.StopAsync(TimeSpan.FromMilliseconds(StopWaitMs), "synod cluster")));
            foreach (var (replica, clean) in _processes.Values.Zip(stopped))
            {
                if (!clean)
                {
                    Console.WriteLine($"replica {replica.Id} did not stop within {StopWaitMs / 1000} s; killed it.");
                }
            }

            SaveConfig();
            foreach (var replica in _processes.Values)
            {
                replica.Dispose();
            }

            _supervisorLock?.Dispose();
            Console.WriteLine($"All replicas stopped. Data kept in {directory}; run the same command again to resume.");
        }
    }
}
