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
    private readonly Grpc.Net.Client.GrpcChannel[] _channels;

    /// <summary>With TLS, etcd's KV service straight over <see cref="_channels"/> (dotnet-etcd's own channels dial plaintext); else null.</summary>
    private readonly KV.KVClient[]? _kv;

    public EtcdBenchTarget(BenchSettings settings)
    {
        // With --cacert both clients speak TLS to etcd's https client URLs, checked against that CA as Synod's client does.
        var scheme = settings.Tls is null ? "http://" : "https://";
        var bare = settings.Endpoints.Select(e => e.Replace("http://", "", StringComparison.Ordinal).Replace("https://", "", StringComparison.Ordinal)).ToList();
        var connection = string.Join(",", bare.Select(e => scheme + e));
        SocketsHttpHandler Handler()
        {
            var handler = Synod.Client.SynodClientTls.Handler(settings.Tls);
            handler.EnableMultipleHttp2Connections = true;
            return handler;
        }
        _clients = [.. Enumerable.Range(0, settings.Conns).Select(_ => new EtcdClient(connection, configureChannelOptions: null))];
        _channels = [.. Enumerable.Range(0, settings.Conns).Select(i =>
            Grpc.Net.Client.GrpcChannel.ForAddress(scheme + bare[i % bare.Count], new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = Handler() }))];
        _kv = settings.Tls is null ? null : [.. _channels.Select(channel => new KV.KVClient(channel))];
        Timeout = settings.OperationTimeout;
    }

    public int Conns => _clients.Length;

    private TimeSpan Timeout { get; }

    public Task PutAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation) =>
        EtcdPut(conn,
            new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Value = UnsafeByteOperations.UnsafeWrap(value) },
            deadline: DateTime.UtcNow + Timeout,
            cancellationToken: cancellation);

    public Task GetAsync(int conn, byte[] key, bool stale, CancellationToken cancellation) =>
        EtcdRange(conn,
            new RangeRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Serializable = stale },
            deadline: DateTime.UtcNow + Timeout,
            cancellationToken: cancellation);

    public async Task<long> CasAsync(int conn, byte[] key, byte[] value, long expectedModRevision, CancellationToken cancellation)
    {
        var keyBytes = UnsafeByteOperations.UnsafeWrap(key);
        var request = new TxnRequest();
        request.Compare.Add(new Compare
        {
            Key = keyBytes,
            Target = Compare.Types.CompareTarget.Mod,
            Result = Compare.Types.CompareResult.Equal,
            ModRevision = expectedModRevision,
        });
        request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = keyBytes, Value = UnsafeByteOperations.UnsafeWrap(value) } });
        request.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = keyBytes, KeysOnly = true } });
        var response = await EtcdTxn(conn, request, DateTime.UtcNow + Timeout, cancellation);
        if (response.Succeeded)
        {
            return response.Header.Revision;
        }

        var kvs = response.Responses[0].ResponseRange.Kvs;
        return kvs.Count == 0 ? 0 : kvs[0].ModRevision;
    }

    public Task RangeAsync(int conn, byte[] from, int limit, CancellationToken cancellation) =>
        EtcdRange(conn,
            new RangeRequest { Key = UnsafeByteOperations.UnsafeWrap(from), RangeEnd = ByteString.CopyFrom(0), Limit = limit },
            deadline: DateTime.UtcNow + Timeout,
            cancellationToken: cancellation);

    public async Task<long> PutRevisionAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation) =>
        (await EtcdPut(conn,
            new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Value = UnsafeByteOperations.UnsafeWrap(value) },
            deadline: DateTime.UtcNow + Timeout,
            cancellationToken: cancellation)).Header.Revision;

    public async Task WatchAsync(int conn, byte[] prefix, Action created, Action<long> changed, CancellationToken cancellation)
    {
        // etcd's own Watch service, one stream per watcher, as etcd's clientv3 opens for a watch with its own context.
        var channel = _channels[conn % _channels.Length];
        using var call = new Etcdserverpb.Watch.WatchClient(channel).Watch(cancellationToken: cancellation);
        var rangeEnd = Synod.Kv.KvRange.PrefixEnd(prefix);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFrom(prefix), RangeEnd = ByteString.CopyFrom(rangeEnd) },
        }, cancellation);
        try
        {
            while (await call.ResponseStream.MoveNext(cancellation))
            {
                var response = call.ResponseStream.Current;
                if (response.Created)
                {
                    created();
                }

                foreach (var change in response.Events)
                {
                    changed(change.Kv.ModRevision);
                }
            }
        }
        catch (Exception e) when (cancellation.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
        {
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Task<long>> _lockLeases = new();

    /// <summary>
    /// etcd's lock API (v3lock: the server takes the lock for the caller under its lease, with concurrency.Mutex), one
    /// lease per loop granted once, as `etcdctl lock` does.
    /// </summary>
    public async Task LockCycleAsync(int worker, string name, CancellationToken cancellation)
    {
        var conn = worker % _channels.Length;
        var lease = await _lockLeases.GetOrAdd(worker, _ => GrantLeaseAsync(conn, 60, cancellation));
        var locks = new V3Lockpb.Lock.LockClient(_channels[conn]);
        var held = await locks.LockAsync(
            new V3Lockpb.LockRequest { Name = ByteString.CopyFromUtf8(name), Lease = lease }, deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellation);
        await locks.UnlockAsync(new V3Lockpb.UnlockRequest { Key = held.Key }, deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellation);
    }

    public async Task<long> GrantLeaseAsync(int conn, long ttlSeconds, CancellationToken cancellation) =>
        (await new Lease.LeaseClient(_channels[conn]).LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds }, deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellation)).ID;

    /// <summary>One keep-alive on a stream of its own: the same exchange as Synod's client library makes.</summary>
    public async Task KeepAliveAsync(int conn, long lease, CancellationToken cancellation)
    {
        using var call = new Lease.LeaseClient(_channels[conn]).LeaseKeepAlive(deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellation);
        await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, cancellation);
        await call.RequestStream.CompleteAsync();
        if (!await call.ResponseStream.MoveNext(cancellation) || call.ResponseStream.Current.TTL <= 0)
        {
            throw new InvalidOperationException($"etcd did not keep lease {lease} alive (it expired, or the stream ended).");
        }
    }

    public async Task<IReadOnlyCollection<long>> LiveLeasesAsync(CancellationToken cancellation) =>
        [.. (await new Lease.LeaseClient(_channels[0]).LeaseLeasesAsync(new LeaseLeasesRequest(), deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellation)).Leases.Select(l => l.ID)];

    public ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async Task<PutResponse> EtcdPut(int conn, PutRequest request, DateTime deadline, CancellationToken cancellationToken) =>
        _kv is { } kv
            ? await kv[conn % kv.Length].PutAsync(request, deadline: deadline, cancellationToken: cancellationToken)
            : await _clients[conn].PutAsync(request, deadline: deadline, cancellationToken: cancellationToken);

    private async Task<RangeResponse> EtcdRange(int conn, RangeRequest request, DateTime deadline, CancellationToken cancellationToken) =>
        _kv is { } kv
            ? await kv[conn % kv.Length].RangeAsync(request, deadline: deadline, cancellationToken: cancellationToken)
            : await _clients[conn].GetAsync(request, deadline: deadline, cancellationToken: cancellationToken);

    private async Task<TxnResponse> EtcdTxn(int conn, TxnRequest request, DateTime deadline, CancellationToken cancellationToken) =>
        _kv is { } kv
            ? await kv[conn % kv.Length].TxnAsync(request, deadline: deadline, cancellationToken: cancellationToken)
            : await _clients[conn].TransactionAsync(request, deadline: deadline, cancellationToken: cancellationToken);
}
