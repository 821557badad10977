using Grpc.Core;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// The client API's methods, bound with <see cref="ClientMessageMarshaller"/> in place of the generated marshallers so
/// that an undecodable request is answered INVALID_ARGUMENT. gRPC binds the methods this class declares (it finds each
/// handler by name and requires it to override a method declared here); the class still derives from the generated
/// base, so reflection describes the service from synod_kv.proto. A test checks that every method the proto declares
/// is bound.
/// </summary>
[BindServiceMethod(typeof(KvApi), nameof(BindService))]
internal abstract class KvApi : Protocol.Kv.KvBase
{
    public abstract new Task<PutResponse> Put(PutRequest request, ServerCallContext context);

    public abstract new Task<GetResponse> Get(GetRequest request, ServerCallContext context);

    public abstract new Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context);

    public abstract new Task<RangeResponse> Range(RangeRequest request, ServerCallContext context);

    public abstract new Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context);

    public abstract new Task<StatusResponse> Status(StatusRequest request, ServerCallContext context);

    public abstract new Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context);

    public abstract new Task<CompactResponse> Compact(CompactRequest request, ServerCallContext context);

    public abstract new Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context);

    public abstract new Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context);

    public abstract new Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context);

    public abstract new Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context);

    public abstract new Task<MemberListResponse> MemberList(MemberListRequest request, ServerCallContext context);

    public abstract new Task<MemberChangeResponse> MemberChange(MemberChangeRequest request, ServerCallContext context);

    public abstract new Task<LeaseLeasesResponse> LeaseLeases(LeaseLeasesRequest request, ServerCallContext context);

    public abstract new Task<AuthenticateResponse> Authenticate(AuthenticateRequest request, ServerCallContext context);

    public abstract new Task<AuthChangeResponse> AuthChange(AuthChangeRequest request, ServerCallContext context);

    public abstract new Task<AuthStatusResponse> AuthStatus(AuthStatusRequest request, ServerCallContext context);

    public abstract new Task LeaseKeepAlive(
        IAsyncStreamReader<LeaseKeepAliveRequest> requestStream, IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context);

    public static void BindService(ServiceBinderBase binder, KvApi service)
    {
        // The binder finds each handler on the service type by the method's name; the delegates passed here are unused.
        binder.AddMethod(Unary(nameof(Put), PutRequest.Parser, PutResponse.Parser), (UnaryServerMethod<PutRequest, PutResponse>)null!);
        binder.AddMethod(Unary(nameof(Get), GetRequest.Parser, GetResponse.Parser), (UnaryServerMethod<GetRequest, GetResponse>)null!);
        binder.AddMethod(Unary(nameof(Delete), DeleteRequest.Parser, DeleteResponse.Parser), (UnaryServerMethod<DeleteRequest, DeleteResponse>)null!);
        binder.AddMethod(Unary(nameof(Range), RangeRequest.Parser, RangeResponse.Parser), (UnaryServerMethod<RangeRequest, RangeResponse>)null!);
        binder.AddMethod(Unary(nameof(Txn), TxnRequest.Parser, TxnResponse.Parser), (UnaryServerMethod<TxnRequest, TxnResponse>)null!);
        binder.AddMethod(Unary(nameof(Status), StatusRequest.Parser, StatusResponse.Parser), (UnaryServerMethod<StatusRequest, StatusResponse>)null!);
        binder.AddMethod(Unary(nameof(Register), RegisterRequest.Parser, RegisterResponse.Parser), (UnaryServerMethod<RegisterRequest, RegisterResponse>)null!);
        binder.AddMethod(Unary(nameof(Compact), CompactRequest.Parser, CompactResponse.Parser), (UnaryServerMethod<CompactRequest, CompactResponse>)null!);
        binder.AddMethod(Unary(nameof(LeaseGrant), LeaseGrantRequest.Parser, LeaseGrantResponse.Parser), (UnaryServerMethod<LeaseGrantRequest, LeaseGrantResponse>)null!);
        binder.AddMethod(Unary(nameof(LeaseRevoke), LeaseRevokeRequest.Parser, LeaseRevokeResponse.Parser), (UnaryServerMethod<LeaseRevokeRequest, LeaseRevokeResponse>)null!);
        binder.AddMethod(Unary(nameof(LeaseTimeToLive), LeaseTimeToLiveRequest.Parser, LeaseTimeToLiveResponse.Parser), (UnaryServerMethod<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>)null!);
        binder.AddMethod(Unary(nameof(MemberList), MemberListRequest.Parser, MemberListResponse.Parser), (UnaryServerMethod<MemberListRequest, MemberListResponse>)null!);
        binder.AddMethod(Unary(nameof(MemberChange), MemberChangeRequest.Parser, MemberChangeResponse.Parser), (UnaryServerMethod<MemberChangeRequest, MemberChangeResponse>)null!);
        binder.AddMethod(Unary(nameof(LeaseLeases), LeaseLeasesRequest.Parser, LeaseLeasesResponse.Parser), (UnaryServerMethod<LeaseLeasesRequest, LeaseLeasesResponse>)null!);
        binder.AddMethod(Unary(nameof(Authenticate), AuthenticateRequest.Parser, AuthenticateResponse.Parser), (UnaryServerMethod<AuthenticateRequest, AuthenticateResponse>)null!);
        binder.AddMethod(Unary(nameof(AuthChange), AuthChangeRequest.Parser, AuthChangeResponse.Parser), (UnaryServerMethod<AuthChangeRequest, AuthChangeResponse>)null!);
        binder.AddMethod(Unary(nameof(AuthStatus), AuthStatusRequest.Parser, AuthStatusResponse.Parser), (UnaryServerMethod<AuthStatusRequest, AuthStatusResponse>)null!);
        binder.AddMethod(
            new Method<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
                MethodType.DuplexStreaming, Protocol.Kv.Descriptor.FullName, nameof(LeaseKeepAlive), ClientMessageMarshaller.For(LeaseKeepAliveRequest.Parser), ClientMessageMarshaller.For(LeaseKeepAliveResponse.Parser)),
            (DuplexStreamingServerMethod<LeaseKeepAliveRequest, LeaseKeepAliveResponse>)null!);
        binder.AddMethod(
            new Method<WatchRequest, WatchResponse>(
                MethodType.DuplexStreaming, Protocol.Kv.Descriptor.FullName, nameof(Watch), ClientMessageMarshaller.For(WatchRequest.Parser), ClientMessageMarshaller.For(WatchResponse.Parser)),
            (DuplexStreamingServerMethod<WatchRequest, WatchResponse>)null!);
    }

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name, Google.Protobuf.MessageParser<TRequest> request, Google.Protobuf.MessageParser<TResponse> response)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>
        where TResponse : class, Google.Protobuf.IMessage<TResponse> =>
        new(MethodType.Unary, Protocol.Kv.Descriptor.FullName, name, ClientMessageMarshaller.For(request), ClientMessageMarshaller.For(response));
}
