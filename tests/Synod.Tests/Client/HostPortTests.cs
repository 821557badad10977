using Synod.Protocol;

namespace Synod.Tests.Client;

/// <summary>One parser for "host:port" serves the client, the command line and the server.</summary>
public sealed class HostPortTests
{
    [Theory]
    [InlineData("127.0.0.1:7001", "127.0.0.1", 7001)]
    [InlineData("localhost:1", "localhost", 1)]
    [InlineData("[::1]:65535", "::1", 65535)]
    [InlineData(" synod-0.synod:7001 ", "synod-0.synod", 7001)]
    public void An_endpoint_splits_into_host_and_port(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var parsedHost, out var parsedPort, out _));
        Assert.Equal(host, parsedHost);
        Assert.Equal(port, parsedPort);
    }

    [Theory]
    [InlineData("127.0.0.1", "is not HOST:PORT")]
    [InlineData("127.0.0.1:0", "a port is a number from 1 to 65535")]
    [InlineData("127.0.0.1:70000", "a port is a number from 1 to 65535")]
    [InlineData("::1:7001", "without brackets")]
    [InlineData("bad host:7001", "not a valid host name")]
    public void A_bad_endpoint_is_refused_with_a_sentence_naming_it(string text, string expected)
    {
        Assert.False(HostPort.TryParse(text, out _, out _, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.Contains(text.Trim(), problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_server_refuses_a_bad_listen_endpoint_at_start_naming_the_flag()
    {
        var options = Synod.Server.ServerOptions.Defaults with { InsecurePeers = true, Listen = "127.0.0.1:99999" };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("--listen '127.0.0.1:99999' has port '99999'", error.Message, StringComparison.Ordinal);
    }
}
