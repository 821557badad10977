using System.Net;
using System.Net.Sockets;
using Synod.Chaos;

namespace Synod.Tests.Chaos;

public sealed class LinkProxyTests
{
    [Fact]
    public async Task Bytes_sent_through_a_healed_proxy_reach_the_target_and_come_back_and_are_counted_each_way()
    {
        await using var echo = new EchoServer();
        await using var proxy = LinkProxy.Start(echo.Endpoint);
        using var socket = await LoopbackSockets.ConnectAsync(proxy.Port);

        Assert.Equal("hello, replica", await LoopbackSockets.RoundTripAsync(socket, "hello, replica"));
        Assert.Equal("again", await LoopbackSockets.RoundTripAsync(socket, "again"));

        Assert.NotEqual(0, proxy.Port);
        Assert.Equal($"127.0.0.1:{proxy.Port}", proxy.ListenEndpoint);
        Assert.False(proxy.IsBlocked);
        Assert.Equal(1, proxy.Counters.ConnectionsAccepted);
        Assert.Equal(1, echo.ConnectionsAccepted);
        await Eventually.TrueAsync(() => proxy.Counters.BytesToTarget == 19 && proxy.Counters.BytesFromTarget == 19, () => $"{proxy.Counters}");
        Assert.Equal(0, proxy.Counters.ConnectionsCut);
        Assert.Equal(0, proxy.Counters.ConnectionsRefused);
    }

    [Fact]
    public async Task A_large_transfer_larger_than_the_buffer_arrives_whole_and_in_order()
    {
        await using var echo = new EchoServer();
        await using var proxy = LinkProxy.Start(echo.Endpoint);
        using var socket = await LoopbackSockets.ConnectAsync(proxy.Port);
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(i => (char)('a' + (i % 26))));

        Assert.Equal(text, await LoopbackSockets.RoundTripAsync(socket, text));
        Assert.True(text.Length > LinkProxy.BufferBytes / 2);
    }

    [Fact]
    public async Task Block_resets_an_open_connection_on_both_sides_and_counts_it_as_cut()
    {
        await using var echo = new EchoServer();
        await using var proxy = LinkProxy.Start(echo.Endpoint);
        using var socket = await LoopbackSockets.ConnectAsync(proxy.Port);
        await LoopbackSockets.RoundTripAsync(socket, "before");

        proxy.Block();

        Assert.True(proxy.IsBlocked);
        Assert.True(await LoopbackSockets.ClosedByPeerAsync(socket), "the client side of a cut connection must see it closed");
        await Eventually.TrueAsync(() => echo.OpenConnections == 0, () => "the target side of the cut connection is still open");
        await Eventually.TrueAsync(() => proxy.OpenConnections == 0, () => "the proxy still tracks the cut connection");
        Assert.Equal(1, proxy.Counters.ConnectionsCut);
    }

    [Fact]
    public async Task A_blocked_proxy_accepts_new_connections_and_resets_them_without_reaching_the_target()
    {
        await using var echo = new EchoServer();
        await using var proxy = LinkProxy.Start(echo.Endpoint);
        proxy.Block();

        Assert.True(await LoopbackSockets.NewConnectionFailsAsync(proxy.Port), "a connection to a blocked proxy must fail");
        await Eventually.TrueAsync(() => proxy.Counters.ConnectionsRefused == 1, () => $"{proxy.Counters}");
        Assert.Equal(1, proxy.Counters.ConnectionsAccepted);
        Assert.Equal(0, echo.ConnectionsAccepted);
        Assert.Equal(0, proxy.Counters.BytesToTarget);
    }

    [Fact]
    public async Task Heal_lets_new_connections_through_again_after_a_block()
    {
        await using var echo = new EchoServer();
        await using var proxy = LinkProxy.Start(echo.Endpoint);
        using var cut = await LoopbackSockets.ConnectAsync(proxy.Port);
        await LoopbackSockets.RoundTripAsync(cut, "one");
        proxy.Block();
        Assert.True(await LoopbackSockets.ClosedByPeerAsync(cut));

        proxy.Heal();
        using var healed = await LoopbackSockets.ConnectAsync(proxy.Port);

        Assert.False(proxy.IsBlocked);
        Assert.Equal("two", await LoopbackSockets.RoundTripAsync(healed, "two"));
        Assert.Equal(2, proxy.Counters.ConnectionsAccepted);
        Assert.Equal(1, proxy.Counters.ConnectionsCut);
        Assert.Equal(2, echo.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_connection_to_a_target_that_is_down_is_closed_and_counted()
    {
        IPEndPoint down;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            // A port that was free a moment ago and has nobody listening on it now.
            listener.Start();
            down = (IPEndPoint)listener.LocalEndpoint;
        }

        await using var proxy = LinkProxy.Start(down);

        Assert.True(await LoopbackSockets.NewConnectionFailsAsync(proxy.Port));
        await Eventually.TrueAsync(() => proxy.Counters.TargetConnectFailures == 1, () => $"{proxy.Counters}");
        await Eventually.TrueAsync(() => proxy.OpenConnections == 0, () => "the proxy still tracks the failed connection");
    }

    [Fact]
    public async Task A_client_half_close_reaches_the_target_and_the_reply_still_comes_back()
    {
        await using var echo = new EchoServer();
        await using var proxy = LinkProxy.Start(echo.Endpoint);
        using var socket = await LoopbackSockets.ConnectAsync(proxy.Port);
        await socket.SendAsync("last words"u8.ToArray(), SocketFlags.None);

        socket.Shutdown(SocketShutdown.Send);

        var received = new byte[10];
        using var limit = new CancellationTokenSource(Eventually.Limit);
        for (var offset = 0; offset < received.Length;)
        {
            offset += await socket.ReceiveAsync(received.AsMemory(offset), SocketFlags.None, limit.Token);
        }

        Assert.Equal("last words"u8.ToArray(), received);
        Assert.True(await LoopbackSockets.ClosedByPeerAsync(socket), "the echo server closes once it sees the half-close");
    }

    [Fact]
    public async Task Dispose_closes_open_connections_and_stops_listening()
    {
        await using var echo = new EchoServer();
        var proxy = LinkProxy.Start(echo.Endpoint);
        using var socket = await LoopbackSockets.ConnectAsync(proxy.Port);
        await LoopbackSockets.RoundTripAsync(socket, "ping");

        await proxy.DisposeAsync();

        Assert.True(await LoopbackSockets.ClosedByPeerAsync(socket));
        Assert.Equal(0, proxy.OpenConnections);
        await Assert.ThrowsAsync<SocketException>(() => LoopbackSockets.ConnectAsync(proxy.Port));
        await proxy.DisposeAsync();
    }

    [Fact]
    public void A_target_that_is_not_loopback_is_refused_with_a_reason()
    {
        var error = Assert.Throws<ArgumentException>(() => LinkProxy.Start(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 7001)));

        Assert.Contains("not a loopback address", error.Message, StringComparison.Ordinal);
    }
}
