using Google.Protobuf;
using Grpc.Core;
using Synod.Protocol;
using KvGrpcClient = Synod.Protocol.Kv.KvClient;

namespace Synod.Client;

/// <summary>A live lease: its id and the TTL it was granted, in seconds.</summary>
public sealed record SynodLease(long Id, long TtlSeconds);

/// <summary>
/// A lease as its leader measures it: <paramref name="RemainingSeconds"/> is what is left of its TTL (rounded up),
/// -1 when the lease does not exist; <paramref name="Keys"/> are listed when asked for.
/// </summary>
public sealed record SynodLeaseTimeToLive(long Id, long RemainingSeconds, long GrantedSeconds, IReadOnlyList<byte[]> Keys)
{
    public bool Found => RemainingSeconds >= 0;
}

/// <summary>Leases (docs/api.md, "Leases"): grant, keep alive, revoke, query, list, and keys written under one.</summary>
public sealed partial class SynodClient
{
    /// <summary>
    /// Grants a lease of <paramref name="ttlSeconds"/>, exactly once however often it is retried. The id is
    /// <paramref name="id"/>, or a random one when 0. The lease lasts at least its TTL as the leader measures it from
    /// the grant or the last keep-alive, and a leader change gives it its full TTL again.
    /// </summary>
    /// <exception cref="SynodInvalidArgumentException">The TTL is below the cluster's minimum (the message names it) or the id is out of range.</exception>
    public Task<SynodLease> GrantLeaseAsync(long ttlSeconds, long id = 0, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (id == 0)
        {
            id = Random.Shared.NextInt64(1, RequestRules.LeaseIdMax);
        }

        if (RequestRules.LeaseIdProblem(id) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        if (ttlSeconds is < 1 or > RequestRules.LeaseTtlSecondsMax)
        {
            throw new SynodInvalidArgumentException($"The lease TTL is {ttlSeconds} seconds; it must lie in 1..{RequestRules.LeaseTtlSecondsMax} (and be at least the cluster's minimum).");
        }

        return WriteAsync(
            "lease grant",
            options,
            [],
            (session, client, callOptions) => client.LeaseGrantAsync(
                new LeaseGrantRequest { Id = id, Ttl = ttlSeconds, ClientId = session.ClientId, Sequence = session.NextSequence }, callOptions),
            (response, session, endpoint) => new SynodLease(response.Id, response.Ttl),
            cancellationToken);
    }

    /// <summary>Ends a lease: every key attached to it is deleted, all at one revision, which is returned.</summary>
    /// <exception cref="SynodServerException">The lease does not exist (NOT_FOUND).</exception>
    public Task<long> RevokeLeaseAsync(long id, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (RequestRules.LeaseIdProblem(id) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        return WriteAsync(
            "lease revoke",
            options,
            [],
            (session, client, callOptions) => client.LeaseRevokeAsync(
                new LeaseRevokeRequest { Id = id, ClientId = session.ClientId, Sequence = session.NextSequence }, callOptions),
            (response, session, endpoint) => response.Revision,
            cancellationToken);
    }

    /// <summary>
    /// Keeps a lease alive once: its leader moves its deadline on to a full TTL from now and answers once a quorum
    /// confirms it still leads. Returns the seconds left, or -1 when the lease no longer exists.
    /// </summary>
    public async Task<long> KeepAliveOnceAsync(long id, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (RequestRules.LeaseIdProblem(id) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        var history = new AttemptHistory("lease keep-alive", isWrite: false);
        var (response, endpoint) = await CallAsync(history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => KeepAliveCall(client, callOptions, id), cancellationToken);
        NoteServedBy(endpoint, response.ServedBy);
        return response.Found ? response.Ttl : -1;
    }

    /// <summary>A lease's TTL as its leader measures it, and (with <paramref name="keys"/>) the keys attached to it.</summary>
    public async Task<SynodLeaseTimeToLive> LeaseTimeToLiveAsync(long id, bool keys = false, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (RequestRules.LeaseIdProblem(id) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        var history = new AttemptHistory("lease ttl", isWrite: false);
        var (response, endpoint) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { Id = id, Keys = keys }, callOptions), cancellationToken);
        NoteServedBy(endpoint, response.ServedBy);
        return new SynodLeaseTimeToLive(response.Id, response.Ttl, response.GrantedTtl, [.. response.Keys.Select(k => k.ToByteArray())]);
    }

    /// <summary>The live leases, in id order (linearizable); the second item is true when more are live than one answer lists.</summary>
    public async Task<(IReadOnlyList<SynodLease> Leases, bool More)> LeasesAsync(SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var history = new AttemptHistory("lease list", isWrite: false);
        var (response, _) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.LeaseLeasesAsync(new LeaseLeasesRequest(), callOptions), cancellationToken);
        return ([.. response.Leases.Select(l => new SynodLease(l.Id, l.Ttl))], response.More);
    }

    /// <summary>
    /// Sets a key under lease <paramref name="lease"/> (0: none, which detaches it from a lease it had), only if
    /// <paramref name="compare"/> holds (null: always), exactly once. The key is deleted when the lease ends.
    /// </summary>
    /// <exception cref="SynodLeaseNotFoundException">The lease does not exist; nothing was written.</exception>
    public Task<PutResult> PutAsync(
        ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease, SynodCompare? compare = null, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (lease != 0 && RequestRules.LeaseIdProblem(lease) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        var keyBytes = key.ToArray();
        var valueBytes = value.ToArray();
        RequestValidation.ThrowIfInvalid(RequestRules.Put, keyBytes, valueBytes);
        var compareProto = ValidatedCompare(RequestRules.Put, compare, valueBytes.Length);
        return WriteAsync(
            "put",
            options,
            keyBytes,
            (session, client, callOptions) => client.PutAsync(
                new PutRequest
                {
                    Key = UnsafeByteOperations.UnsafeWrap(keyBytes),
                    Value = UnsafeByteOperations.UnsafeWrap(valueBytes),
                    ClientId = session.ClientId,
                    Sequence = session.NextSequence,
                    Compare = compareProto,
                    Lease = lease,
                },
                callOptions),
            (response, session, endpoint) => new PutResult(
                response.Slot, response.ServedBy, response.Duplicate, session.ClientId, session.NextSequence, endpoint,
                response.Revision, response.CompareFailed, response.CreateRevision, response.ModRevision, response.Version),
            cancellationToken);
    }

    /// <summary>Opens a session: a lease of <paramref name="ttlSeconds"/> kept alive in the background until disposed (which revokes it).</summary>
    public async Task<SynodSession> CreateSessionAsync(long ttlSeconds = 10, CancellationToken cancellationToken = default)
    {
        var sent = _time.GetTimestamp();
        var lease = await GrantLeaseAsync(ttlSeconds, cancellationToken: cancellationToken);
        return new SynodSession(this, lease, _time, sent);
    }

    /// <summary>One keep-alive as a unary call: a stream opened, one request, one answer.</summary>
    private static AsyncUnaryCall<LeaseKeepAliveResponse> KeepAliveCall(KvGrpcClient client, CallOptions options, long id)
    {
        var call = client.LeaseKeepAlive(options);
        async Task<LeaseKeepAliveResponse> Run()
        {
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { Id = id }, options.CancellationToken);
            await call.RequestStream.CompleteAsync();
            if (!await call.ResponseStream.MoveNext(options.CancellationToken))
            {
                throw new RpcException(call.GetStatus(), call.GetTrailers());
            }

            return call.ResponseStream.Current;
        }

        return new AsyncUnaryCall<LeaseKeepAliveResponse>(Run(), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private void NoteServedBy(string endpoint, uint servedBy)
    {
        var index = Array.IndexOf(_endpoints, endpoint);
        if (index >= 0 && servedBy != 0)
        {
            Volatile.Write(ref _servedByAt[index], servedBy);
            Volatile.Write(ref _preferredIndex, index);
        }
    }
}
