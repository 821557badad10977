using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Synod.Client;
using Synod.Kv;
using Synod.Protocol;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Issue 18, hostile input: a replica under 10,000 idle connections, and users and roles at their limits. The replica
/// keeps serving, its memory stays bounded, and nothing acknowledged is lost. Throughput is printed, side by side with
/// the same load without the connections, not asserted (the machine's speed drifts).
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class ResourceExhaustionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    private const int IdleConnections = 10_000;
    private const int LoadWrites = 400;
    private const int LoadConcurrency = 16;

    /// <summary>What 10,000 idle connections may add to the replica's resident memory (ConnectionsMax holds 4,096 of them at a few KiB each).</summary>
    private const long AddedResidentBytesMax = 300L * 1024 * 1024;

    [Fact]
    public async Task Ten_thousand_idle_connections_leave_the_replica_serving_with_bounded_memory_and_nothing_acknowledged_lost()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        var target = cluster.Endpoints[1];
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [target], OperationTimeout = TimeSpan.FromSeconds(30) });
        await LoadAsync(client, "warm-up");
        var quiet = await LoadAsync(client, "quiet");
        var before = ResidentBytes(cluster.ProcessId(1));

        var (host, port) = (target[..target.LastIndexOf(':')], int.Parse(target[(target.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
        var sockets = new List<Socket>();
        var refused = 0;
        try
        {
            for (var i = 0; i < IdleConnections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(host, port);
                    sockets.Add(socket);
                }
                catch (SocketException)
                {
                    refused++;
                    socket.Dispose();
                }
            }

            var held = ResidentBytes(cluster.ProcessId(1));
            var loaded = await LoadAsync(client, "idle");
            var after = ResidentBytes(cluster.ProcessId(1));
            var peak = PeakResidentBytes(cluster.ProcessId(1));

            // Beyond ConnectionsMax the replica closes a connection at once; it closes the rest when their first bytes are late.
            var closed = sockets.Count(s => s.Poll(0, SelectMode.SelectRead) && s.Available == 0);
            output.WriteLine(
                $"{sockets.Count} idle connections opened ({refused} refused at connect, {closed} closed by the replica by the end of the load); replica 1 resident {Mib(before)} MiB before, {Mib(held)} MiB with them, " +
                $"{Mib(after)} MiB after the load, peak {Mib(peak)} MiB; {LoadWrites} puts at {LoadConcurrency} at once: {quiet.PerSecond:F0}/s quiet, " +
                $"{loaded.PerSecond:F0}/s with the connections ({loaded.PerSecond / quiet.PerSecond:F2}x)");
            Assert.True(after - before < AddedResidentBytesMax, $"replica 1 grew by {Mib(after - before)} MiB under {IdleConnections} idle connections; the bound is {Mib(AddedResidentBytesMax)} MiB");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        // Nothing acknowledged is lost: every put of both loads reads back, linearizably, through another replica.
        await using var reader = new SynodClient(new SynodClientOptions { Endpoints = [cluster.Endpoints[2]], OperationTimeout = TimeSpan.FromSeconds(30) });
        foreach (var phase in new[] { "warm-up", "quiet", "idle" })
        {
            var range = await reader.RangeAsync(SynodRange.Prefix($"load/{phase}/"));
            Assert.Equal(LoadWrites, range.Kvs.Count);
        }
    }

    [Fact]
    public async Task A_thousand_users_and_roles_fit_the_next_of_each_is_refused_and_a_restarted_replica_knows_them_all()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(30) });
        var before = ResidentBytes(cluster.ProcessId(2));
        var watch = Stopwatch.StartNew();

        // Users without passwords (certificate only), so that the replicas spend no PBKDF2 on each; one role each.
        await ParallelAsync(KvLimits.RolesMax, i => client.ChangeAuthAsync(AuthChangeKind.RoleAdd, role: $"role-{i}"));
        await ParallelAsync(KvLimits.RolesMax, i => client.ChangeAuthAsync(AuthChangeKind.RoleGrant, role: $"role-{i}", permission: new Permission
        {
            Kind = PermissionKind.Readwrite,
            From = Google.Protobuf.ByteString.CopyFromUtf8($"app/{i}/"),
            To = Google.Protobuf.ByteString.CopyFromUtf8($"app/{i}0"),
        }));
        await client.ChangeAuthAsync(AuthChangeKind.UserAdd, "root", password: "rootpw");
        await ParallelAsync(KvLimits.UsersMax - 1, i => client.ChangeAuthAsync(AuthChangeKind.UserAdd, $"user-{i}", noPassword: true));
        await ParallelAsync(KvLimits.UsersMax - 1, i => client.ChangeAuthAsync(AuthChangeKind.UserGrantRole, $"user-{i}", $"role-{i}"));
        var made = watch.Elapsed;

        var userFull = await Assert.ThrowsAsync<SynodInvalidArgumentException>(() => client.ChangeAuthAsync(AuthChangeKind.UserAdd, "one-too-many", noPassword: true));
        Assert.Contains("limit", userFull.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SynodInvalidArgumentException>(() => client.ChangeAuthAsync(AuthChangeKind.RoleAdd, role: "one-too-many"));
        await client.ChangeAuthAsync(AuthChangeKind.AuthEnable);

        await using var root = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, User = "root", Password = "rootpw" });
        await root.PutAsync("app/7/x", "by root");

        // A restarted replica knows every user and role (from its log and snapshot), and judges alike.
        cluster.Kill(2);
        cluster.Start(2);
        await cluster.WaitForAllServingAsync(StartupLimit);
        await using var atTwo = new SynodClient(new SynodClientOptions { Endpoints = [cluster.Endpoints[2]], User = "root", Password = "rootpw", OperationTimeout = TimeSpan.FromSeconds(30) });
        var status = await atTwo.AuthStatusAsync();
        Assert.Equal(KvLimits.UsersMax, status.Users.Count);
        Assert.Equal(KvLimits.RolesMax + 1, status.Roles.Count);
        Assert.Equal("by root", (await atTwo.GetAsync("app/7/x")).ValueAsString());
        output.WriteLine($"{KvLimits.UsersMax} users and {KvLimits.RolesMax} roles with a permission each made in {made.TotalSeconds:F1} s; " +
            $"replica 2 resident {Mib(before)} MiB before, {Mib(ResidentBytes(cluster.ProcessId(2)))} MiB after its restart with them");
    }

    private const int FloodStreams = 10;
    private const int FloodLeases = 5_000;

    /// <summary>
    /// A flood of watches and leases at one replica: WatchersMax (10,000) watchers of the prefix the load writes, in 10
    /// streams whose client reads slowly; the next watcher refused with retry_elsewhere; then 5,000 leases granted and
    /// left to run. The replica keeps serving (put throughput printed against the same load before the flood), resident
    /// memory is printed and bounded, and every acknowledged put reads back.
    /// </summary>
    [Fact]
    public async Task A_flood_of_watches_and_leases_leaves_the_replica_serving_with_bounded_memory_and_nothing_acknowledged_lost()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        var target = cluster.Endpoints[1];
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [target], OperationTimeout = TimeSpan.FromSeconds(30) });
        await LoadAsync(client, "warm-up");
        var quiet = await LoadAsync(client, "quiet");
        var before = ResidentBytes(cluster.ProcessId(1));

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://" + target);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var kv = new Synod.Protocol.Kv.KvClient(channel);
        var calls = Enumerable.Range(0, FloodStreams + 1).Select(_ => kv.Watch(cancellationToken: stop.Token)).ToList();
        var created = 0;
        var refusedElsewhere = 0;
        var readers = calls.Select(call => Task.Run(async () =>
        {
            try
            {
                while (await call.ResponseStream.MoveNext(stop.Token))
                {
                    var response = call.ResponseStream.Current;
                    if (response.Created)
                    {
                        Interlocked.Increment(ref created);
                    }
                    else if (response.Canceled && response.RetryElsewhere)
                    {
                        Interlocked.Increment(ref refusedElsewhere);
                    }

                    // A slow reader: its watchers fall behind and catch up from the history.
                    await Task.Delay(1, stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or Grpc.Core.RpcException)
            {
                // The test ended the stream.
            }
        })).ToList();
        try
        {
            var watchersMax = new Synod.Driver.DriverOptions().WatchersMax;
            for (var i = 0; i < watchersMax; i++)
            {
                await calls[i % FloodStreams].RequestStream.WriteAsync(new Synod.Protocol.WatchRequest
                {
                    Create = new Synod.Protocol.WatchCreateRequest { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("load/"), WatchId = i + 1 },
                });
            }

            Assert.True(await Eventually.WithinAsync(() => Task.FromResult(Volatile.Read(ref created) == watchersMax), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)),
                $"only {created} of {watchersMax} watches were created");
            await calls[FloodStreams].RequestStream.WriteAsync(new Synod.Protocol.WatchRequest
            {
                Create = new Synod.Protocol.WatchCreateRequest { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("load/"), WatchId = 1 },
            });
            Assert.True(await Eventually.WithinAsync(() => Task.FromResult(Volatile.Read(ref refusedElsewhere) == 1), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100)),
                "the watch past WatchersMax was not refused with retry_elsewhere");
            var watched = await LoadAsync(client, "watched");
            var withWatchers = ResidentBytes(cluster.ProcessId(1));
            var watchersAfterLoad = (await client.StatusAsync(0)).Watchers;

            var granting = Stopwatch.StartNew();
            await ParallelAsync(FloodLeases, i => client.GrantLeaseAsync(300));
            var granted = granting.Elapsed;
            var leased = await LoadAsync(client, "leased");
            var after = ResidentBytes(cluster.ProcessId(1));
            var watchersAtEnd = (await client.StatusAsync(0)).Watchers;
            var peak = PeakResidentBytes(cluster.ProcessId(1));
            output.WriteLine(
                $"{watchersMax} watchers of the written prefix in {FloodStreams} slowly read streams ({watchersAfterLoad} live after the first load, {watchersAtEnd} at the end), the next refused with retry_elsewhere; {FloodLeases} leases granted in {granted.TotalSeconds:F1} s " +
                $"({FloodLeases / granted.TotalSeconds:F0}/s). {LoadWrites} puts at {LoadConcurrency} at once: {quiet.PerSecond:F0}/s quiet, {watched.PerSecond:F0}/s with the watchers " +
                $"({watched.PerSecond / quiet.PerSecond:F2}x), {leased.PerSecond:F0}/s with the leases too ({leased.PerSecond / quiet.PerSecond:F2}x). Replica 1 resident {Mib(before)} MiB before, " +
                $"{Mib(withWatchers)} MiB with the watchers, {Mib(after)} MiB with the leases, peak {Mib(peak)} MiB");
            Assert.True(after - before < AddedResidentBytesMax, $"replica 1 grew by {Mib(after - before)} MiB under the flood; the bound is {Mib(AddedResidentBytesMax)} MiB");
            Assert.Equal(FloodLeases, (await client.LeasesAsync()).Leases.Count);
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var call in calls)
            {
                call.Dispose();
            }

            await Task.WhenAll(readers);
        }

        await using var reader = new SynodClient(new SynodClientOptions { Endpoints = [cluster.Endpoints[2]], OperationTimeout = TimeSpan.FromSeconds(30) });
        foreach (var phase in new[] { "warm-up", "quiet", "watched", "leased" })
        {
            Assert.Equal(LoadWrites, (await reader.RangeAsync(SynodRange.Prefix($"load/{phase}/"))).Kvs.Count);
        }
    }

    private static async Task ParallelAsync(int count, Func<int, Task> change)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                await change(i);
            }
        }));
    }

    private static async Task<(double PerSecond, TimeSpan Took)> LoadAsync(SynodClient client, string phase)
    {
        var watch = Stopwatch.StartNew();
        await ParallelPutsAsync(client, phase);
        return (LoadWrites / watch.Elapsed.TotalSeconds, watch.Elapsed);
    }

    private static async Task ParallelPutsAsync(SynodClient client, string phase)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, LoadConcurrency).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < LoadWrites; i = Interlocked.Increment(ref next))
            {
                await client.PutAsync($"load/{phase}/{i}", "v");
            }
        }));
    }

    private static long Mib(long bytes) => bytes / (1024 * 1024);

    private static long ResidentBytes(int processId) => ProcessMemory.ResidentBytes(processId);

    private static long PeakResidentBytes(int processId) => ProcessMemory.PeakResidentBytes(processId);
}
