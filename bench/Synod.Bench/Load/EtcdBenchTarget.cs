using Etcdserverpb;
using Google.Protobuf;
using dotnet_etcd;

namespace Synod.Bench;

/// <summary>
/// etcd through the dotnet-etcd client (plain gRPC, round robin over the endpoints). `get` is etcd's default
/// linearizable range read; `get-stale` sets <c>serializable</c>, answered by the contacted member alone.
/// </summary>
public sealed class EtcdBenchTarget : IBenchTarget
{
    private readonly EtcdClient[] _clients;

    public EtcdBenchTarget(BenchSettings settings)
    {
        var connection = string.Join(",", settings.Endpoints.Select(e => e.Contains("://", StringComparison.Ordinal) ? e : "http://" + e));
        _clients = [.. Enumerable.Range(0, settings.Conns).Select(_ => new EtcdClient(connection, configureChannelOptions: null))];
        Timeout = settings.OperationTimeout;
    }

    public int Conns => _clients.Length;

    private TimeSpan Timeout { get; }

    public Task PutAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation) =>
        _clients[conn].PutAsync(
            new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Value = UnsafeByteOperations.UnsafeWrap(value) },
            deadline: DateTime.UtcNow + Timeout,
            cancellationToken: cancellation);

    public Task GetAsync(int conn, byte[] key, bool stale, CancellationToken cancellation) =>
        _clients[conn].GetAsync(
            new RangeRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Serializable = stale },
            deadline: DateTime.UtcNow + Timeout,
            cancellationToken: cancellation);

    public ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
