using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Synod.Protocol;
using Synod.Chaos;
using Synod.Server;

namespace Synod.Tests.Cluster;

/// <summary>
/// A real cluster for integration tests: N `synod serve` processes on free loopback ports, each with its own data
/// directory under a temporary folder, authenticating each other with certificates made there (pass
/// --insecure-peers among the serve arguments for plaintext peers). Kill sends SIGKILL, as a crash would. Disposing
/// kills every process it started and deletes the folder.
/// </summary>
public sealed class ReplicaProcesses : IAsyncDisposable
{
    private const int StatusTimeoutMs = 1_000;
    private readonly Dictionary<int, ReplicaProcess> _processes = [];
    private readonly Dictionary<int, GrpcChannel> _channels = [];
    private readonly string _root;

    private readonly string[] _serveArgs;
    private readonly bool _insecure;
    private readonly Func<int, IEnumerable<string>> _addressArgs;

    /// <param name="count">Replicas in the cluster.</param>
    /// <param name="serveArgs">Extra `synod serve` arguments for every replica (for example a small snapshot interval).</param>
    public ReplicaProcesses(int count, params string[] serveArgs)
        : this(NewEndpoints(count), addressArgs: null, serveArgs)
    {
    }

    /// <param name="endpoints">Each replica's real listen endpoint (clients and Status talk to these).</param>
    /// <param name="addressArgs">
    /// How a replica learns where it listens and where its peers are (default: `--peers` with these endpoints); a
    /// partitioned cluster passes `--listen` and a `--peers` list that goes through its proxies.
    /// </param>
    /// <param name="serveArgs">Extra `synod serve` arguments for every replica.</param>
    public ReplicaProcesses(IReadOnlyDictionary<int, string> endpoints, Func<int, IEnumerable<string>>? addressArgs, params string[] serveArgs)
        : this(endpoints, addressArgs, ClientTlsMode.None, serveArgs)
    {
    }

    /// <param name="count">Replicas in the cluster.</param>
    /// <param name="tls">Whether the replicas serve clients over TLS (each with its own certificate), and ask clients for one.</param>
    /// <param name="serveArgs">Extra `synod serve` arguments for every replica.</param>
    public ReplicaProcesses(int count, ClientTlsMode tls, params string[] serveArgs)
        : this(NewEndpoints(count), addressArgs: null, tls, serveArgs)
    {
    }

    /// <summary>
    /// A cluster whose replicas' data directories <paramref name="seed"/> fills before any starts (given each replica's
    /// id, its data directory and the `--peers` list), as `synod snapshot restore --id` does for a new cluster.
    /// </summary>
    public static ReplicaProcesses Seeded(int count, Action<int, string, string> seed, params string[] serveArgs) =>
        new(NewEndpoints(count), addressArgs: null, ClientTlsMode.None, serveArgs, seed);

    private ReplicaProcesses(
        IReadOnlyDictionary<int, string> endpoints, Func<int, IEnumerable<string>>? addressArgs, ClientTlsMode tls, string[] serveArgs, Action<int, string, string>? seed = null)
    {
        _serveArgs = serveArgs;
        _tls = tls;
        _root = Path.Combine(Path.GetTempPath(), $"synod-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_root);
        _endpoints = new Dictionary<int, string>(endpoints);
        Certificates = PeerCertificates.WriteDevelopmentSet(Path.Combine(_root, "certs"), PeerCertificates.DefaultCluster, [.. endpoints.Keys], [], force: false);
        _insecure = serveArgs.Contains("--insecure-peers");
        _addressArgs = addressArgs ?? (_ => ["--peers", string.Join(",", Endpoints.Select(e => $"{e.Key}={e.Value}"))]);
        ClientTls = tls == ClientTlsMode.None ? null
            : Synod.Client.SynodClientTls.FromPemFiles(Certificates.Authority, tls == ClientTlsMode.Mutual ? Certificates.Certificate(1) : null, tls == ClientTlsMode.Mutual ? Certificates.Key(1) : null);
        foreach (var (id, endpoint) in Endpoints)
        {
            _channels[id] = GrpcChannel.ForAddress(Synod.Client.SynodClientTls.Address(endpoint, ClientTls), new GrpcChannelOptions
            {
                HttpHandler = Synod.Client.SynodClientTls.Handler(ClientTls),
                InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
                MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
            });
        }

        var peers = string.Join(",", Endpoints.Select(e => $"{e.Key}={e.Value}"));
        foreach (var id in Endpoints.Keys)
        {
            seed?.Invoke(id, DataDir(id), peers);
        }

        foreach (var id in Endpoints.Keys)
        {
            Start(id);
        }
    }

    private readonly Dictionary<int, string> _endpoints;
    private readonly ClientTlsMode _tls;

    /// <summary>What a client of these replicas needs for TLS (the CA, and with mutual TLS a certificate), or null.</summary>
    public Synod.Client.SynodClientTls? ClientTls { get; }

    /// <summary>Every replica started here, those that joined later (<see cref="Join"/>) too.</summary>
    public IReadOnlyDictionary<int, string> Endpoints => _endpoints;

    /// <summary>
    /// Starts replica <paramref name="id"/> on an empty data directory with `serve --join` at the replicas started so far
    /// (add it first, at <paramref name="endpoint"/>: synod member add), with a certificate of this cluster's CA.
    /// </summary>
    public void Join(int id, string endpoint)
    {
        var joinAt = string.Join(",", EndpointList);
        PeerCertificates.EnsureDevelopmentSet(Certificates.Directory, PeerCertificates.DefaultCluster, [id]);
        _endpoints[id] = endpoint;
        _channels[id] = GrpcChannel.ForAddress($"http://{endpoint}", new GrpcChannelOptions
        {
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
        });
        var serveArgs = new[] { "--id", $"{id}", "--data-dir", DataDir(id), "--listen", endpoint, "--join", joinAt }.Concat(PeerArgs(id)).Concat(_serveArgs).ToList();
        var replica = _processes[id] = new ReplicaProcess(id, ["dotnet", Path.Combine(AppContext.BaseDirectory, "synod.dll")], serveArgs, Path.Combine(_root, $"r{id}.log"));
        replica.Start([]);
    }

    /// <summary>Whether replica <paramref name="id"/>'s process ended on its own.</summary>
    public bool Exited(int id) => _processes.GetValueOrDefault(id) is { HasExited: true };

    /// <summary>The cluster's CA and every replica's certificate and key (made even for an insecure cluster, for tests that need them).</summary>
    public PeerCertificateFiles Certificates { get; }

    /// <summary>The `synod serve` flags replica <paramref name="id"/> runs with for its peer links.</summary>
    public IReadOnlyList<string> PeerArgs(int id) => _insecure ? [] : Certificates.ServeArgs(id);

    public IReadOnlyList<string> EndpointList => [.. Endpoints.OrderBy(e => e.Key).Select(e => e.Value)];

    /// <summary>
    /// Starts replica <paramref name="id"/>. Its data directory is initialised as a member of this new cluster if empty
    /// (--new-cluster), unless <paramref name="extraArgs"/> says otherwise (for example --rebuild-from-peers).
    /// </summary>
    public void Start(int id, params string[] extraArgs)
    {
        if (!_processes.TryGetValue(id, out var replica))
        {
            var serveArgs = new[] { "--id", $"{id}", "--data-dir", DataDir(id) }.Concat(_addressArgs(id)).Concat(PeerArgs(id)).Concat(TlsArgs(id)).Concat(_serveArgs).ToList();
            replica = _processes[id] = new ReplicaProcess(id, ["dotnet", Path.Combine(AppContext.BaseDirectory, "synod.dll")], serveArgs, Path.Combine(_root, $"r{id}.log"));
        }

        replica.Start(extraArgs.Contains("--rebuild-from-peers") ? extraArgs : [.. extraArgs, "--new-cluster"]);
    }

    public string DataDir(int id) => Path.Combine(_root, $"r{id}");

    private IEnumerable<string> TlsArgs(int id) => _tls switch
    {
        ClientTlsMode.Tls => ["--tls-cert", Certificates.Certificate(id), "--tls-key", Certificates.Key(id)],
        ClientTlsMode.Mutual => ["--tls-cert", Certificates.Certificate(id), "--tls-key", Certificates.Key(id), "--tls-client-ca", Certificates.Authority],
        _ => [],
    };

    /// <summary>The operating system's process id of a running replica.</summary>
    public int ProcessId(int id) =>
        _processes[id] is { State: not ReplicaRunState.Down, ProcessId: int pid } ? pid : throw new InvalidOperationException($"replica {id} is not running.");

    /// <summary>SIGKILL: the process gets no chance to flush or say goodbye.</summary>
    public void Kill(int id) => _processes[id].Kill("killed by the test");

    /// <summary>Everything replica <paramref name="id"/> wrote, over all its lives, with a marker line for each start and kill.</summary>
    public string Log(int id) => _processes[id].ReadLog();

    public async Task<StatusResponse?> StatusAsync(int id)
    {
        try
        {
            return await new Protocol.Kv.KvClient(_channels[id]).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddMilliseconds(StatusTimeoutMs));
        }
        catch (RpcException)
        {
            return null;
        }
    }

    private static readonly TimeSpan StatusPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits (bounded) until a replica among <paramref name="among"/> says it leads, and returns its id.</summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan limit, IEnumerable<int>? among = null)
    {
        var candidates = (among ?? Endpoints.Keys).ToList();
        var leader = 0;
        if (await Eventually.WithinAsync(async () => (leader = await LeaderAmongAsync(candidates)) != 0, limit, StatusPoll))
        {
            // Tests pin calls to single replicas, and a pinned call to one not yet listening fails at once.
            await WaitForAllServingAsync(limit);
            return leader;
        }

        throw new TimeoutException($"no leader among replicas {string.Join(",", candidates)} within {limit.TotalSeconds} s.\n{AllLogs()}");
    }

    /// <summary>Waits (bounded) until every listed replica has applied at least <paramref name="slot"/>.</summary>
    public async Task WaitForAppliedAsync(IEnumerable<int> ids, ulong slot, TimeSpan limit)
    {
        foreach (var id in ids)
        {
            if (!await Eventually.WithinAsync(async () => await StatusAsync(id) is { } status && status.AppliedSlot >= slot, limit, StatusPoll))
            {
                throw new TimeoutException($"replica {id} did not apply slot {slot} within {limit.TotalSeconds} s.\n{Log(id)}");
            }
        }
    }

    /// <summary>Waits (bounded) until every running replica answers its status: a leader alone says nothing of the slow starters.</summary>
    public async Task WaitForAllServingAsync(TimeSpan limit)
    {
        foreach (var id in Endpoints.Keys.Where(Running))
        {
            // One that exits meanwhile (a start the test expects refused) is not waited for.
            if (!await Eventually.WithinAsync(async () => !Running(id) || await StatusAsync(id) is not null, limit, StatusPoll))
            {
                throw new TimeoutException($"replica {id} did not answer within {limit.TotalSeconds} s.\n{Log(id)}");
            }
        }
    }

    /// <summary>The replica among <paramref name="candidates"/> whose status says it leads, 0 if none does.</summary>
    private async Task<int> LeaderAmongAsync(IEnumerable<int> candidates)
    {
        foreach (var id in candidates)
        {
            if (await StatusAsync(id) is { Role: "leader" })
            {
                return id;
            }
        }

        return 0;
    }

    public string AllLogs() => string.Join("\n", Endpoints.Keys.Select(id => $"--- replica {id} ---\n{Log(id)}"));

    /// <summary>Started, not killed, and not exited on its own.</summary>
    private bool Running(int id) => _processes.GetValueOrDefault(id) is { State: not ReplicaRunState.Down, HasExited: false };

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _processes.Values)
        {
            replica.Dispose();
        }

        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        await Task.Yield();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
    }

    /// <summary>Free loopback endpoints for replicas 1..count.</summary>
    public static IReadOnlyDictionary<int, string> NewEndpoints(int count)
    {
        var ports = FreePorts(count);
        return Enumerable.Range(1, count).ToDictionary(i => i, i => $"127.0.0.1:{ports[i - 1]}");
    }

    /// <summary>
    /// Ports the kernel gave free, never one this test process handed out before: two calls in one test (client and
    /// --http endpoints) could otherwise get the same port back once the first call's listeners closed, and a replica's
    /// client port would then be another's HTTP/1.1-only endpoint (a dashboard test failed so, HTTP_1_1_REQUIRED).
    /// </summary>
    private static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        var ports = new List<int>();
        try
        {
            lock (HandedOut)
            {
                // Each attempt holds its listener open, so the kernel gives a different port every time.
                for (var attempt = 0; ports.Count < count; attempt++)
                {
                    if (attempt > count + 1_000)
                    {
                        throw new InvalidOperationException($"no {count} loopback ports free that this test process has not used already.");
                    }

                    var listener = new TcpListener(IPAddress.Loopback, 0);
                    listener.Start();
                    listeners.Add(listener);
                    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                    if (HandedOut.Add(port))
                    {
                        ports.Add(port);
                    }
                }
            }
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }

        return [.. ports];
    }

    private static readonly HashSet<int> HandedOut = [];
}

/// <summary>How the test replicas serve clients: plaintext, TLS, or TLS asking every client for a certificate.</summary>
public enum ClientTlsMode
{
    None,
    Tls,
    Mutual,
}
