using System.Diagnostics;
using Synod.Chaos;
using Synod.Client;
using Synod.Server;
using Synod.Tests.Cluster;

namespace Synod.Tests.Deploy;

/// <summary>
/// Issue 20, beyond one host: three replicas, each in a network namespace of its own with its own address on a bridge
/// (created and removed by the test; traffic only to those addresses), and a partition made of real packet drops by
/// nftables inside the leader's namespace, not by a proxy. The majority elects another leader and takes writes, the
/// cut-off leader takes none, and after the partition heals every replica holds every acknowledged write. Skipped, with
/// one line, where the test cannot make namespaces (not root, no `ip` or `nft`).
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class NetnsPartitionTests
{
    [NetnsFact]
    public async Task A_leader_cut_off_by_real_packet_drops_is_replaced_and_every_acknowledged_write_survives_the_heal()
    {
        await using var net = await NetnsNetwork.CreateAsync(3);
        var root = Directory.CreateTempSubdirectory("synod-netns-");
        var endpoints = Enumerable.Range(1, 3).ToDictionary(id => id, id => $"{net.Address(id)}:7001");
        var peers = string.Join(",", endpoints.Select(e => $"{e.Key}={e.Value}"));
        var certificates = PeerCertificates.WriteDevelopmentSet(Path.Combine(root.FullName, "certs"), PeerCertificates.DefaultCluster, [1, 2, 3], [], force: true);
        var replicas = endpoints.Keys.Select(id => new ReplicaProcess(
            id,
            ["ip", "netns", "exec", net.Namespace(id), "dotnet", Path.Combine(AppContext.BaseDirectory, "synod.dll")],
            ["--id", $"{id}", "--peers", peers, "--listen", endpoints[id], "--data-dir", Path.Combine(root.FullName, $"r{id}"), "--tick-ms", "10", .. certificates.ServeArgs(id)],
            Path.Combine(root.FullName, $"r{id}.log"))).ToList();
        try
        {
            replicas.ForEach(r => r.Start(["--new-cluster"]));
            await using var client = new SynodClient(new SynodClientOptions { Endpoints = [.. endpoints.Values], OperationTimeout = TimeSpan.FromSeconds(20) });
            int leader;
            try
            {
                leader = await LeaderAsync(client, TimeSpan.FromSeconds(40), among: [1, 2, 3]);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}\n{string.Join("\n", replicas.Select(r => $"--- replica {r.Id} ---\n{r.ReadLog()}"))}", e);
            }

            var acknowledged = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                await client.PutAsync($"netns/before/{i}", "v");
                acknowledged.Add($"netns/before/{i}");
            }

            // Real drops: the leader's namespace discards every packet to and from the other two addresses.
            var others = endpoints.Keys.Where(id => id != leader).ToList();
            await net.PartitionAsync(leader, others);
            var next = await LeaderAsync(client, TimeSpan.FromSeconds(20), among: others);
            Assert.NotEqual(leader, next);
            await using var majority = new SynodClient(new SynodClientOptions { Endpoints = [.. others.Select(id => endpoints[id])], OperationTimeout = TimeSpan.FromSeconds(20) });
            for (var i = 0; i < 20; i++)
            {
                await majority.PutAsync($"netns/during/{i}", "v");
                acknowledged.Add($"netns/during/{i}");
            }

            // The cut-off replica cannot take a write: it fails (no quorum), it is never acknowledged.
            await using var isolated = new SynodClient(new SynodClientOptions { Endpoints = [endpoints[leader]], OperationTimeout = TimeSpan.FromSeconds(3) });
            await Assert.ThrowsAnyAsync<SynodException>(() => isolated.PutAsync("netns/isolated", "v"));

            await net.HealAsync(leader);
            await using var healed = new SynodClient(new SynodClientOptions { Endpoints = [endpoints[leader]], OperationTimeout = TimeSpan.FromSeconds(20) });
            var deadline = Stopwatch.StartNew();
            foreach (var id in endpoints.Keys)
            {
                // A linearizable read at each replica in turn: every acknowledged key is there.
                var range = await client.RangeAsync(SynodRange.Prefix("netns/", keysOnly: true), options: SynodCallOptions.Pinned(id - 1));
                var keys = range.Kvs.Select(kv => kv.KeyAsString()).ToHashSet();
                Assert.All(acknowledged, key => Assert.Contains(key, keys));
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                replica.Kill("netns test over");
                replica.Dispose();
            }

            root.Delete(recursive: true);
        }
    }

    private static async Task<int> LeaderAsync(SynodClient client, TimeSpan limit, IReadOnlyList<int> among)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < limit)
        {
            foreach (var id in among)
            {
                try
                {
                    var status = await client.StatusAsync(id - 1, TimeSpan.FromMilliseconds(500));
                    if (status.Role == "leader")
                    {
                        return id;
                    }
                }
                catch (SynodException)
                {
                    // Starting, or cut off.
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no replica among {string.Join(",", among)} led within {limit.TotalSeconds:0} s");
    }
}

/// <summary>Runs only where network namespaces can be made: as root, with `ip` and `nft`.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (NetnsNetwork.Unavailable() is { } why)
        {
            Skip = $"no network namespaces here ({why}): run as root with iproute2 and nftables (apt-get install iproute2 nftables) for the netns partition test";
        }
    }
}

/// <summary>
/// Replicas on a network of their own: one namespace per replica with a veth pair to a bridge, addresses 10.213.N.id/24
/// (N drawn per run), the bridge itself at .254 so that the test's clients in the root namespace reach them. Partitions
/// are nftables rules inside a namespace that drop its packets to and from the others. Everything is removed on dispose.
/// </summary>
internal sealed class NetnsNetwork : IAsyncDisposable
{
    private readonly string _tag;
    private readonly int _subnet;
    private readonly int _count;

    private NetnsNetwork(string tag, int subnet, int count)
    {
        _tag = tag;
        _subnet = subnet;
        _count = count;
    }

    public string Namespace(int id) => $"synod-{_tag}-{id}";

    public string Address(int id) => $"10.213.{_subnet}.{id}";

    private string Bridge => $"synbr{_tag}";

    /// <summary>Why namespaces cannot be made here, or null if they can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "not root on Linux";
        }

        foreach (var tool in new[] { "/usr/sbin/ip", "/usr/sbin/nft" })
        {
            if (!File.Exists(tool))
            {
                return $"{tool} is missing";
            }
        }

        return null;
    }

    public static async Task<NetnsNetwork> CreateAsync(int count)
    {
        var tag = Random.Shared.Next(0x1000, 0xffff).ToString("x4", System.Globalization.CultureInfo.InvariantCulture);
        var network = new NetnsNetwork(tag, Random.Shared.Next(1, 250), count);
        await network.RunAsync("ip", "link", "add", network.Bridge, "type", "bridge");
        await network.RunAsync("ip", "addr", "add", $"10.213.{network._subnet}.254/24", "dev", network.Bridge);
        await network.RunAsync("ip", "link", "set", network.Bridge, "up");
        for (var id = 1; id <= count; id++)
        {
            var ns = network.Namespace(id);
            var inside = $"syn{tag}{id}a";
            var outside = $"syn{tag}{id}b";
            await network.RunAsync("ip", "netns", "add", ns);
            await network.RunAsync("ip", "link", "add", inside, "type", "veth", "peer", "name", outside);
            await network.RunAsync("ip", "link", "set", inside, "netns", ns);
            await network.RunAsync("ip", "link", "set", outside, "master", network.Bridge, "up");
            await network.RunAsync("ip", "netns", "exec", ns, "ip", "addr", "add", $"{network.Address(id)}/24", "dev", inside);
            await network.RunAsync("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up");
            await network.RunAsync("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        }

        return network;
    }

    /// <summary>Drops every packet between replica <paramref name="id"/> and <paramref name="others"/>, inside its namespace.</summary>
    public async Task PartitionAsync(int id, IEnumerable<int> others)
    {
        var ns = Namespace(id);
        await RunAsync("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "synod");
        await RunAsync("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "synod", "in", "{ type filter hook input priority 0; }");
        await RunAsync("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "synod", "out", "{ type filter hook output priority 0; }");
        foreach (var other in others)
        {
            await RunAsync("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "synod", "in", "ip", "saddr", Address(other), "drop");
            await RunAsync("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "synod", "out", "ip", "daddr", Address(other), "drop");
        }
    }

    public Task HealAsync(int id) => RunAsync("ip", "netns", "exec", Namespace(id), "nft", "delete", "table", "inet", "synod");

    public async ValueTask DisposeAsync()
    {
        for (var id = 1; id <= _count; id++)
        {
            await RunAsync(false, "ip", "netns", "del", Namespace(id));
        }

        await RunAsync(false, "ip", "link", "del", Bridge);
    }

    private Task RunAsync(params string[] command) => RunAsync(true, command);

    private static async Task RunAsync(bool check, params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(" ", command)} failed ({process.ExitCode}): {error.Trim()}");
        }
    }
}
