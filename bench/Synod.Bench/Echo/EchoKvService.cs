using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Synod.Protocol;

namespace Synod.Bench;

/// <summary>
/// Synod's client API answered at once from one in-memory dictionary: no consensus, no peers, no disk. Measured by
/// the same load generator and client library as a real cluster, it is the ceiling that gRPC, HTTP/2 and the client
/// impose on this machine, so a benchmark can say what fraction of it Synod reaches.
/// </summary>
internal sealed class EchoKvService : Protocol.Kv.KvBase
{
    private readonly ConcurrentDictionary<ByteString, ByteString> _values = new();
    private long _lastClientId;

    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        _values[request.Key] = request.Value;
        return Task.FromResult(new PutResponse { ServedBy = EchoServer.ReplicaId });
    }

    public override Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        if (!_values.TryGetValue(request.Key, out var value))
        {
            throw new RpcException(new Status(StatusCode.NotFound, "no such key"));
        }

        return Task.FromResult(new GetResponse { Value = value, ServedBy = EchoServer.ReplicaId });
    }

    public override Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context) =>
        Task.FromResult(new DeleteResponse { Existed = _values.TryRemove(request.Key, out _), ServedBy = EchoServer.ReplicaId });

    public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context) =>
        Task.FromResult(new RegisterResponse { ClientId = (ulong)Interlocked.Increment(ref _lastClientId), ServedBy = EchoServer.ReplicaId });

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) =>
        Task.FromResult(new StatusResponse());
}
