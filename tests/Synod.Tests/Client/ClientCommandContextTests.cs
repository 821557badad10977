using Synod.Cli;

namespace Synod.Tests.Client;

public sealed class ClientCommandContextTests
{
    [Fact]
    public void Without_endpoints_or_a_cluster_file_the_default_local_cluster_is_used()
    {
        var context = ClientCommandContext.Resolve(null, Path.Combine(Path.GetTempPath(), $"synod-none-{Guid.NewGuid():N}"));

        Assert.Equal(["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004", "127.0.0.1:7005"],
            context.Cluster.Replicas.Select(r => r.Endpoint));
        Assert.Equal([1, 2, 3, 4, 5], context.Cluster.Replicas.Select(r => r.Id));
    }

    [Fact]
    public void Replica_id_n_is_the_nth_of_the_endpoints()
    {
        var context = ClientCommandContext.Resolve("127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", null);

        Assert.Equal(1, context.EndpointIndexOfNode("2"));
        Assert.Null(context.EndpointIndexOfNode(null));
    }

    [Theory]
    [InlineData("9", "--node 9 is not a replica of this cluster; the ids in --endpoints are 1,2,3.")]
    [InlineData("two", "--node 'two' is not a replica id; give one of 1,2,3, the ids in --endpoints.")]
    public void An_unknown_node_is_bad_input_that_lists_the_ids(string node, string expected)
    {
        var context = ClientCommandContext.Resolve("127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", null);

        var error = Assert.Throws<ClientInputException>(() => context.EndpointIndexOfNode(node));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void Malformed_endpoints_are_bad_input_that_shows_the_form()
    {
        var error = Assert.Throws<ClientInputException>(() => ClientCommandContext.Resolve("127.0.0.1", null));

        Assert.Contains("is not HOST:PORT", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 10)]
    [InlineData("2.5", 2.5)]
    public void The_timeout_is_seconds_with_a_default_of_ten(string? text, double expectedSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), ClientCommandContext.ParseTimeout(text));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("7200")]
    public void A_bad_timeout_is_bad_input(string text)
    {
        Assert.Throws<ClientInputException>(() => ClientCommandContext.ParseTimeout(text));
    }

    [Fact]
    public void A_short_timeout_shortens_each_attempt_too()
    {
        var context = ClientCommandContext.Resolve("127.0.0.1:8001", null);

        var options = context.ClientOptions(TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.FromSeconds(1), options.AttemptTimeout);
    }
}
