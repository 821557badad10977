using Synod.Client;

namespace Synod.Tests.Client;

public sealed class EndpointAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:7001", "http://127.0.0.1:7001/")]
    [InlineData(" localhost:7002 ", "http://localhost:7002/")]
    [InlineData("[::1]:7003", "http://[::1]:7003/")]
    public void A_host_and_port_become_an_h2c_address(string endpoint, string expected)
    {
        Assert.True(EndpointAddress.TryParse(endpoint, out var address, out var problem));
        Assert.Null(problem);
        Assert.Equal(expected, address.ToString());
    }

    [Theory]
    [InlineData("127.0.0.1", "is not HOST:PORT")]
    [InlineData("127.0.0.1:", "is not HOST:PORT")]
    [InlineData(":7001", "is not HOST:PORT")]
    [InlineData("127.0.0.1:70x", "a port is a number from 1 to 65535")]
    [InlineData("127.0.0.1:70000", "a port is a number from 1 to 65535")]
    [InlineData("::1:7001", "write it as [ADDRESS]:PORT")]
    public void A_malformed_endpoint_is_refused_with_a_sentence_that_names_it(string endpoint, string expected)
    {
        Assert.False(EndpointAddress.TryParse(endpoint, out var address, out var problem));
        Assert.Null(address);
        Assert.Contains($"'{endpoint.Trim()}'", problem, StringComparison.Ordinal);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }
}
