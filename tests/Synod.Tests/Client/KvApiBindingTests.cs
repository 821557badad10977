using Grpc.Core;
using Synod.Server;

namespace Synod.Tests.Client;

/// <summary>
/// The client API is bound with Synod's own marshallers (an undecodable request gets INVALID_ARGUMENT); every method
/// synod_kv.proto declares must be bound, or a new one would answer UNIMPLEMENTED.
/// </summary>
public sealed class KvApiBindingTests
{
    [Fact]
    public void Every_method_of_the_proto_is_bound()
    {
        var binder = new RecordingBinder();

        KvApi.BindService(binder, null!);

        var declared = Synod.Protocol.Kv.Descriptor.Methods.Select(m => $"/{Synod.Protocol.Kv.Descriptor.FullName}/{m.Name}").Order();
        Assert.Equal(declared, binder.Bound.Order());
    }

    private sealed class RecordingBinder : ServiceBinderBase
    {
        public List<string> Bound { get; } = [];

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            Bound.Add(method.FullName);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            Bound.Add(method.FullName);
    }
}
