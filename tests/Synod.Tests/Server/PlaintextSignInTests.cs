using Synod.Server;

namespace Synod.Tests.Server;

/// <summary>
/// A password sign-in over plaintext from another machine is warned of (once): the caller's address is read from gRPC's
/// peer string, and loopback callers, which no network carries, are not warned of.
/// </summary>
public sealed class PlaintextSignInTests
{
    [Theory]
    [InlineData("ipv4:10.0.0.5:41234", "10.0.0.5")]
    [InlineData("ipv6:[2001:db8::7]:41234", "2001:db8::7")]
    [InlineData("ipv4:127.0.0.1:41234", null)]
    [InlineData("ipv4:127.3.4.5:41234", null)]
    [InlineData("ipv6:[::1]:41234", null)]
    [InlineData("unix:/run/synod.sock", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void The_callers_address_is_named_only_when_it_is_another_machines(string? peer, string? remote) =>
        Assert.Equal(remote, KvService.RemotePeer(peer));
}
