using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Synod.Client;
using Synod.Protocol;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Issue 12's client-port findings, on real replica processes: what a client that never reads can make a replica
/// hold, and what an undecodable request or client id 0 is answered.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class ClientPortLimitTests(ITestOutputHelper output)
{
    private const int AttackConnections = 20;
    private const int StreamsPerAttackConnection = 1_000;

    /// <summary>
    /// The bound the attack must stay within: a replica's own few tens of MiB, plus ClientResponseBytesPerConnectionMax
    /// (8 MiB) for each of the 20 connections, with room for the runtime's slack. Before the response budget the same
    /// attack took a replica past 3 GB.
    /// </summary>
    private const long ResidentBytesMax = 600L * 1024 * 1024;

    /// <summary>The default ClientStreamsPerConnectionMax, which the replica must announce.</summary>
    private static readonly uint ServerOptionsStreams = 128;

    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// ServerOptions' ClientStreamsPerConnectionMax and ClientResponseBytes*Max: 20 connections each want 1,000 Gets of
    /// a 1 MiB value with a receive window of 0 and never read; each sends as many as the replica allows at once (a
    /// client that sends more only has the rest refused). The replica's memory stays within the bound, and other
    /// clients are served, a 1 MiB read included.
    /// </summary>
    [Fact]
    public async Task Twenty_connections_of_a_thousand_unread_large_reads_leave_memory_bounded_and_others_served()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        var target = cluster.Endpoints[1];
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [target] });
        var large = new byte[1024 * 1024];
        Random.Shared.NextBytes(large);
        var slot = (await client.PutAsync("large"u8.ToArray(), large)).Slot;
        await cluster.WaitForAppliedAsync([1], slot, StartupLimit);
        var before = ResidentBytes(cluster.ProcessId(1));

        var attackers = new List<UnreadingHttp2Client>();
        var refusedConnections = 0;
        try
        {
            using var sending = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            for (var i = 0; i < AttackConnections; i++)
            {
                var attacker = await UnreadingHttp2Client.ConnectAsync(target);
                attackers.Add(attacker);
                try
                {
                    Assert.True(attacker.StreamsAllowed <= ServerOptionsStreams, $"the replica allows {attacker.StreamsAllowed} streams per connection");
                    await attacker.SendGetsAsync("large", (int)Math.Min(attacker.StreamsAllowed, StreamsPerAttackConnection), sending.Token);
                }
                catch (IOException)
                {
                    // The replica may close a connection that opens streams beyond the limit it announced.
                    refusedConnections++;
                }
            }

            // Give the replica time to answer every stream it accepted (answers wait on the zero window).
            await Task.Delay(TimeSpan.FromSeconds(3));
            await client.PutAsync("under-attack", "served");
            Assert.Equal("served", (await client.GetAsync("under-attack")).ValueAsString());
            await using (var another = new SynodClient(new SynodClientOptions { Endpoints = [target] }))
            {
                // More than ClientResponseBytesPerConnectionMax in turn: a response read whole is released.
                for (var i = 0; i < 20; i++)
                {
                    Assert.Equal(large, (await another.GetAsync("large")).Value.ToArray());
                }
            }

            var resident = ResidentBytes(cluster.ProcessId(1));
            output.WriteLine($"replica 1's resident memory: {before / (1024 * 1024)} MiB before, {resident / (1024 * 1024)} MiB with {attackers.Count} connections " +
                $"of {attackers[0].StreamsAllowed} unread 1 MiB reads ({refusedConnections} closed by the replica); bound {ResidentBytesMax / (1024 * 1024)} MiB");
            Assert.True(resident < ResidentBytesMax, $"replica 1 holds {resident / (1024 * 1024)} MiB under the attack; the bound is {ResidentBytesMax / (1024 * 1024)} MiB");
        }
        finally
        {
            foreach (var attacker in attackers)
            {
                await attacker.DisposeAsync();
            }
        }
    }

    /// <summary>Bytes that are no protobuf message get INVALID_ARGUMENT with a sentence, not UNKNOWN; client id 0 is refused.</summary>
    [Fact]
    public async Task An_undecodable_request_and_client_id_0_are_answered_invalid_argument()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(StartupLimit);
        using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoints[1]}");
        var raw = new Method<byte[], byte[]>(MethodType.Unary, Synod.Protocol.Kv.Descriptor.FullName, "Put",
            Marshallers.Create<byte[]>(bytes => bytes, bytes => bytes), Marshallers.Create<byte[]>(bytes => bytes, bytes => bytes));

        // A field 1 that says it is 100 bytes long, followed by 2.
        var truncated = new byte[] { 0x0A, 100, 1, 2 };
        var undecodable = await Assert.ThrowsAsync<RpcException>(() =>
            channel.CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), truncated).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, undecodable.StatusCode);
        Assert.Contains("not a valid PutRequest", undecodable.Status.Detail, StringComparison.Ordinal);

        var zero = await Assert.ThrowsAsync<RpcException>(async () => await new Synod.Protocol.Kv.KvClient(channel).PutAsync(
            new PutRequest { ClientId = 0, Sequence = 1, Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v") },
            deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(StatusCode.InvalidArgument, zero.StatusCode);
        Assert.Contains("client id 0", zero.Status.Detail, StringComparison.Ordinal);

        // Once a registration was applied, a client id that no registration assigned is refused, and nothing is applied.
        var kv = new Synod.Protocol.Kv.KvClient(channel);
        var registered = await kv.RegisterAsync(new RegisterRequest { Nonce = 99 }, deadline: DateTime.UtcNow.AddSeconds(10));
        var unassigned = await Assert.ThrowsAsync<RpcException>(async () => await kv.PutAsync(
            new PutRequest { ClientId = 1_000_007, Sequence = 1, Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v") },
            deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(StatusCode.FailedPrecondition, unassigned.StatusCode);
        Assert.Contains("never assigned by Register", unassigned.Status.Detail, StringComparison.Ordinal);

        // The replica still serves a well-formed request under a registered id.
        var put = await kv.PutAsync(
            new PutRequest { ClientId = registered.ClientId, Sequence = 1, Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v") },
            deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.True(registered.ClientId > 0 && put.Slot > registered.Slot);
    }

    private static long ResidentBytes(int processId) => ProcessMemory.ResidentBytes(processId);
}
