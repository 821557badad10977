using Synod.Chaos;

namespace Synod.Tests.Chaos;

public sealed class PartitionNetworkTests
{
    private static readonly Dictionary<int, string> FiveReplicas = new()
    {
        [1] = "127.0.0.1:7001",
        [2] = "127.0.0.1:7002",
        [3] = "127.0.0.1:7003",
        [4] = "127.0.0.1:7004",
        [5] = "127.0.0.1:7005",
    };

    [Fact]
    public async Task Each_replica_peers_string_names_itself_by_its_real_endpoint_and_every_other_replica_by_its_own_proxy()
    {
        await using var network = PartitionNetwork.Start(FiveReplicas);

        var peers = Parse(network.PeersFor(2));

        Assert.Equal([1, 2, 3, 4, 5], peers.Keys);
        Assert.Equal("127.0.0.1:7002", peers[2]);
        Assert.Equal("127.0.0.1:7002", network.ListenEndpoint(2));
        foreach (var other in new[] { 1, 3, 4, 5 })
        {
            var proxy = network.Proxy(2, other);
            Assert.Equal(proxy.ListenEndpoint, peers[other]);
            Assert.Equal(FiveReplicas[other], proxy.Target.ToString());
        }

        Assert.Equal(20, network.Proxies.Count);
        Assert.Equal(20, network.Proxies.Values.Select(p => p.Port).Distinct().Count());
        Assert.NotEqual(network.Proxy(2, 3).Port, network.Proxy(3, 2).Port);
    }

    [Fact]
    public async Task A_two_way_cut_blocks_every_link_between_the_sides_in_both_directions_and_none_within_a_side()
    {
        await using var network = PartitionNetwork.Start(FiveReplicas);

        network.Cut([2, 1], [3, 4, 5]);

        Assert.Equal("1,2 | 3,4,5", network.Description);
        var expected = new[] { 1, 2 }.SelectMany(a => new[] { 3, 4, 5 }.SelectMany(b => new[] { new ReplicaLink(a, b), new ReplicaLink(b, a) }));
        Assert.Equal(expected.OrderBy(l => l.From).ThenBy(l => l.To), network.BlockedLinks);
        Assert.False(network.Proxy(1, 2).IsBlocked);
        Assert.False(network.Proxy(4, 5).IsBlocked);
    }

    [Fact]
    public async Task A_one_way_cut_blocks_only_the_links_from_side_a_to_side_b()
    {
        await using var network = PartitionNetwork.Start(FiveReplicas);

        network.Cut([1, 2], [3, 4, 5], oneWay: true);

        Assert.Equal("1,2 -> 3,4,5 blocked", network.Description);
        Assert.Equal(6, network.BlockedLinks.Count);
        Assert.All(network.BlockedLinks, l => Assert.True(l.From <= 2 && l.To >= 3, $"{l} should not be blocked"));
        Assert.False(network.Proxy(3, 1).IsBlocked);
    }

    [Fact]
    public async Task Cuts_add_up_and_heal_all_unblocks_every_link()
    {
        await using var network = PartitionNetwork.Start(FiveReplicas);
        network.Cut([1], [2, 3, 4, 5]);
        network.Cut([2], [5], oneWay: true);
        Assert.Equal("1 | 2,3,4,5; 2 -> 5 blocked", network.Description);
        Assert.Equal(9, network.BlockedLinks.Count);

        network.HealAll();

        Assert.Empty(network.BlockedLinks);
        Assert.Equal("fully connected", network.Description);
    }

    [Fact]
    public async Task A_one_way_cut_drops_traffic_in_one_direction_only()
    {
        await using var one = new EchoServer();
        await using var two = new EchoServer();
        await using var three = new EchoServer();
        await using var network = PartitionNetwork.Start(new Dictionary<int, string>
        {
            [1] = one.Endpoint.ToString(),
            [2] = two.Endpoint.ToString(),
            [3] = three.Endpoint.ToString(),
        });
        using var oneToThree = await LoopbackSockets.ConnectAsync(network.Proxy(1, 3).Port);
        using var threeToOne = await LoopbackSockets.ConnectAsync(network.Proxy(3, 1).Port);
        await LoopbackSockets.RoundTripAsync(oneToThree, "a");
        await LoopbackSockets.RoundTripAsync(threeToOne, "b");

        network.Cut([1], [3], oneWay: true);

        Assert.True(await LoopbackSockets.ClosedByPeerAsync(oneToThree));
        Assert.Equal("still here", await LoopbackSockets.RoundTripAsync(threeToOne, "still here"));
        Assert.Equal(1, network.Proxy(1, 3).Counters.ConnectionsCut);
        Assert.Equal(0, network.Proxy(3, 1).Counters.ConnectionsCut);
    }

    [Fact]
    public async Task A_cut_naming_an_unknown_replica_or_overlapping_or_empty_sides_is_refused_and_blocks_nothing()
    {
        await using var network = PartitionNetwork.Start(FiveReplicas);

        Assert.Contains("replica 7 is not in this network", Assert.Throws<ArgumentException>(() => network.Cut([1], [7])).Message, StringComparison.Ordinal);
        Assert.Contains("both sides", Assert.Throws<ArgumentException>(() => network.Cut([1, 2], [2, 3])).Message, StringComparison.Ordinal);
        Assert.Contains("at least one replica", Assert.Throws<ArgumentException>(() => network.Cut([], [2])).Message, StringComparison.Ordinal);
        Assert.Empty(network.BlockedLinks);
        Assert.Equal("fully connected", network.Description);
    }

    [Fact]
    public void Endpoints_that_are_not_loopback_or_not_ip_and_port_are_refused()
    {
        Assert.Contains("not a loopback address", Assert.Throws<ArgumentException>(() =>
            PartitionNetwork.Start(new Dictionary<int, string> { [1] = "127.0.0.1:7001", [2] = "192.168.1.9:7002" })).Message, StringComparison.Ordinal);
        Assert.Contains("is not IP:PORT", Assert.Throws<ArgumentException>(() =>
            PartitionNetwork.Start(new Dictionary<int, string> { [1] = "127.0.0.1:7001", [2] = "replica-two" })).Message, StringComparison.Ordinal);
    }

    private static SortedDictionary<int, string> Parse(string peers) => new(peers.Split(',')
        .Select(p => p.Split('='))
        .ToDictionary(p => int.Parse(p[0]), p => p[1]));
}
