using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace Synod.Tests.Cluster;

/// <summary>What a generic gRPC tool (grpcurl, a load balancer's health probe) sees of a replica.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class GenericToolingTests
{
    [Fact]
    public async Task A_replica_answers_the_standard_health_check_and_lists_its_services_through_reflection()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoints[1]}");

        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(5));
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("synod.v1.Kv", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    /// <summary>
    /// ASP.NET Core watches its content root for changed settings files by default; with the data directory under the
    /// working directory (`synod cluster` keeps it in ./synod-data) every log write then woke a watcher thread.
    /// </summary>
    [Fact]
    public async Task A_replica_watches_no_files()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var descriptors = Directory.GetFiles($"/proc/{cluster.ProcessId(1)}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget ?? "")
            .ToList();
        Assert.NotEmpty(descriptors);
        Assert.DoesNotContain(descriptors, target => target.Contains("inotify", StringComparison.Ordinal));
    }
}
