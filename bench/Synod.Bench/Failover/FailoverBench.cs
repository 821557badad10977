using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Synod.Chaos;
using Synod.Client;
using Synod.Server;

namespace Synod.Bench;

/// <summary>
/// `synod bench-failover`: a fresh local cluster of real `synod serve` processes under a steady put load; the
/// leader is found by asking every replica's status and killed with SIGKILL, and the clients' view is measured:
/// how long until a put sent after the kill is acknowledged, the longest stretch with no acknowledgement, and how
/// many puts failed or ended with an unknown outcome. The killed replica is restarted from its disk before the next
/// kill. Only processes this command started are ever signalled.
/// </summary>
internal sealed class FailoverBench(FailoverSettings settings, TextWriter progress)
{
    private const int PollMs = 20;
    private const int ClientsPerConn = 32;
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan AfterRecovery = TimeSpan.FromSeconds(1);

    private readonly ConcurrentQueue<(long Start, long End)> _acks = new();
    private readonly ConcurrentQueue<(long End, bool Unknown)> _failures = new();
    private readonly long _origin = Stopwatch.GetTimestamp();

    // The last kill's time, and the end of the first put sent after it that was acknowledged (0 until then).
    private long _killedAt = long.MaxValue;
    private long _recoveredAt;

    private NetnsNetwork? _network;

    public async Task<IReadOnlyList<FailoverKill>> RunAsync(string workDir, CancellationToken cancellation)
    {
        var replicas = StartCluster(workDir);
        await using var network = _network;
        try
        {
            var endpoints = replicas.Select(r => r.ListenEndpoint).ToList();
            await using var status = new SynodClient(new SynodClientOptions { Endpoints = endpoints, AttemptTimeout = TimeSpan.FromMilliseconds(500), OperationTimeout = TimeSpan.FromMilliseconds(500) });
            await WaitForLeaderAsync(status, replicas, StartupTimeout, cancellation);
            using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            var load = RunLoadAsync(endpoints, stopLoad.Token);
            var kills = new List<FailoverKill>();
            var killTimes = new List<long>();
            var restartTimes = new List<long>();
            var rounds = settings.Rolling ? replicas.Count : settings.Kills;
            for (var k = 0; k < rounds; k++)
            {
                await Task.Delay(settings.Steady, cancellation);
                var leader = await WaitForLeaderAsync(status, replicas, StartupTimeout, cancellation);
                var victim = settings.Rolling ? k + 1 : leader;
                var killedAt = Stopwatch.GetTimestamp();
                Interlocked.Exchange(ref _recoveredAt, 0);
                Interlocked.Exchange(ref _killedAt, killedAt);
                Task stopped;
                if (settings.Graceful || settings.Rolling)
                {
                    stopped = replicas[victim - 1].StopAsync(StopWait, Now());
                    progress.WriteLine($"  stop {k + 1}: SIGTERM to {(victim == leader ? "leader" : "follower")} {victim} at {Seconds(killedAt):F2} s");
                }
                else
                {
                    replicas[victim - 1].Kill(Now(), "bench-failover: kill the leader");
                    stopped = Task.CompletedTask;
                    progress.WriteLine($"  kill {k + 1}: SIGKILL to leader {victim} at {Seconds(killedAt):F2} s");
                }

                killTimes.Add(killedAt);
                var recovered = await WaitForRecoveryAsync(killedAt, cancellation);
                await stopped;
                await Task.Delay(AfterRecovery, cancellation);
                var newLeader = await WaitForLeaderAsync(status, replicas, StartupTimeout, cancellation);
                kills.Add(new FailoverKill(victim, newLeader, recovered is { } r ? Ms(killedAt, r) : null, 0, 0, 0, victim == leader));
                progress.WriteLine($"          writes again after {(recovered is { } at ? $"{Ms(killedAt, at):F0} ms" : "no recovery")}; leader now {newLeader}; restarting replica {victim}");
                restartTimes.Add(Stopwatch.GetTimestamp());
                replicas[victim - 1].Start([], Now());
                // The next stop comes only once this replica serves again: a restart takes seconds here (process start,
                // log replay), and a stop while it is still down would leave a bare quorum, so the next figure would
                // measure that, not the stop (and a careful operator's rolling restart waits the same way).
                await WaitServingAsync(status, victim, StartupTimeout, cancellation);
            }

            await Task.Delay(settings.Steady, cancellation);
            await stopLoad.CancelAsync();
            await load;
            return [.. kills.Select((kill, i) => WithClientCounts(kill, killTimes[i], restartTimes[i], i + 1 < killTimes.Count ? killTimes[i + 1] : long.MaxValue))];
        }
        finally
        {
            await Task.WhenAll(replicas.Select(r => r.StopAsync(StopWait, Now())));
            replicas.ForEach(r => r.Dispose());
        }
    }

    private List<ChaosReplica> StartCluster(string workDir)
    {
        List<string> listen;
        IReadOnlyList<string> Prefix(int id) => _network is { } network ? network.ProgramPrefix(id) : [];
        if (settings.Delay is { } delay)
        {
            _network = NetnsNetwork.CreateShaped([.. Enumerable.Range(1, settings.Replicas)], new TunSwitch.LinkShape(delay, TimeSpan.Zero, 0));
            listen = [.. Enumerable.Range(1, settings.Replicas).Select(_network.ListenEndpoint)];
            progress.WriteLine($"  {_network.Description}");
        }
        else
        {
            var reserved = ReplicaPorts.Reserve(settings.Replicas);
            listen = [.. reserved.Select(l => $"127.0.0.1:{ReplicaPorts.Port(l)}")];
            reserved.ForEach(l => l.Stop());
        }

        var peers = string.Join(",", listen.Select((endpoint, i) => $"{i + 1}={endpoint}"));
        // The same authenticated peer links as any cluster, so that the failover figure includes their reconnects.
        var certificates = PeerCertificates.WriteDevelopmentSet(
            Path.Combine(workDir, "certs"), PeerCertificates.DefaultCluster, [.. Enumerable.Range(1, settings.Replicas)], [], force: true);
        var replicas = listen.Select((endpoint, i) => new ChaosReplica(
            i + 1, [.. Prefix(i + 1), .. settings.ReplicaProgram], settings.TickMs, endpoint, ["--peers", peers], null, Path.Combine(workDir, "data", $"r{i + 1}"), Path.Combine(workDir, "logs", $"r{i + 1}.log"),
            certificates.ServeArgs(i + 1))).ToList();
        foreach (var replica in replicas)
        {
            Directory.CreateDirectory(replica.DataDir);
            replica.Start(["--new-cluster"], Now());
        }

        progress.WriteLine($"  started {settings.Replicas} replicas on {string.Join(",", listen)}; logs in {Path.Combine(workDir, "logs")}");
        return replicas;
    }

    private async Task RunLoadAsync(IReadOnlyList<string> endpoints, CancellationToken stop)
    {
        var clients = Enumerable.Range(0, Math.Max(1, settings.Clients / ClientsPerConn))
            .Select(_ => new SynodClient(new SynodClientOptions { Endpoints = endpoints })).ToList();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, settings.Clients).Select(worker => Task.Run(async () =>
            {
                var client = clients[worker % clients.Count];
                var random = new Random(worker + 1);
                var value = new byte[settings.ValueBytes];
                random.NextBytes(value);
                while (!stop.IsCancellationRequested)
                {
                    var key = System.Text.Encoding.ASCII.GetBytes($"failover-{random.Next(1000):D6}");
                    var start = Stopwatch.GetTimestamp();
                    try
                    {
                        await client.PutAsync(key, value, cancellationToken: CancellationToken.None);
                        var end = Stopwatch.GetTimestamp();
                        _acks.Enqueue((start, end));
                        if (start > Volatile.Read(ref _killedAt))
                        {
                            Interlocked.CompareExchange(ref _recoveredAt, end, 0);
                        }
                    }
                    catch (SynodException e)
                    {
                        _failures.Enqueue((Stopwatch.GetTimestamp(), e is SynodUnavailableException { OutcomeUnknown: true } or SynodUnreachableException { OutcomeUnknown: true }));
                    }
                }
            })));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>The first put sent after the kill and acknowledged: writes are served again.</summary>
    private async Task<long?> WaitForRecoveryAsync(long killedAt, CancellationToken cancellation)
    {
        var deadline = killedAt + (long)(FailoverSettings.RecoveryWaitMax.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (Volatile.Read(ref _recoveredAt) is var recovered and > 0)
            {
                return recovered;
            }

            await Task.Delay(PollMs, cancellation);
        }

        return null;
    }

    /// <summary>
    /// The clients' view of one kill: the longest gap between acknowledgements from a second before it until the stopped
    /// replica is started again (its restart is not the kill's cost), and the failures until the next kill.
    /// </summary>
    private FailoverKill WithClientCounts(FailoverKill kill, long from, long restarted, long until)
    {
        var gap = LongestGap(from - Stopwatch.Frequency, restarted);
        // The same measure over the steady load before the stop (its first half second left out, for the restart
        // before it): the gap a client sees anyway on this machine, for comparison.
        var steadyFrom = from - (long)((settings.Steady.TotalSeconds - 0.5) * Stopwatch.Frequency);
        var steadyGap = LongestGap(steadyFrom, from - (Stopwatch.Frequency / 10));

        var failures = _failures.Where(f => f.End >= from && f.End < until).ToList();
        return kill with { GapMs = gap, SteadyGapMs = steadyGap, Failed = failures.Count(f => !f.Unknown), Unknown = failures.Count(f => f.Unknown) };
    }

    /// <summary>The longest time between consecutive acknowledgements that ended in [from, until), in milliseconds.</summary>
    private double LongestGap(long from, long until)
    {
        var ends = _acks.Select(a => a.End).Where(e => e >= from && e < until).Order().ToList();
        var gap = 0.0;
        for (var i = 1; i < ends.Count; i++)
        {
            gap = Math.Max(gap, Ms(ends[i - 1], ends[i]));
        }

        return gap;
    }

    /// <summary>Waits until replica <paramref name="id"/> answers its status with a leader known and its log applied within a few slots of the leader's.</summary>
    private static async Task WaitServingAsync(SynodClient status, int id, TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                var answer = await status.StatusAsync(id - 1, cancellationToken: cancellation);
                if (answer.LeaderId != 0 && !answer.Rebuilding && answer.AppliedSlot + CaughtUpSlots >= answer.HighestKnownCommit)
                {
                    return;
                }
            }
            catch (SynodException)
            {
                // Still starting.
            }

            await Task.Delay(PollMs, cancellation);
        }

        throw new InvalidOperationException($"replica {id} did not serve again within {timeout.TotalSeconds:0} s of its restart; see its log.");
    }

    /// <summary>A restarted replica counts as caught up within this many slots of the highest it knows chosen.</summary>
    private const int CaughtUpSlots = 100;

    /// <summary>The id of the live replica that says it leads; waits for one.</summary>
    private static async Task<int> WaitForLeaderAsync(SynodClient status, List<ChaosReplica> replicas, TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            foreach (var replica in replicas.Where(r => r.State == ReplicaRunState.Running))
            {
                try
                {
                    var answer = await status.StatusAsync(replica.Id - 1, cancellationToken: cancellation);
                    if (answer.Role == "leader")
                    {
                        return replica.Id;
                    }
                }
                catch (SynodException)
                {
                    // Starting, or just killed: ask the next.
                }
            }

            await Task.Delay(PollMs, cancellation);
        }

        throw new InvalidOperationException($"no replica reported itself leader within {timeout.TotalSeconds:0} s; see the replica logs.");
    }

    private double Now() => Seconds(Stopwatch.GetTimestamp());

    private double Seconds(long timestamp) => Stopwatch.GetElapsedTime(_origin, timestamp).TotalSeconds;

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    public static string Format(double value) => value.ToString("F0", CultureInfo.InvariantCulture);
}
