using System.Text;
using Google.Protobuf;
using Grpc.Net.Client;
using Synod.Protocol;

namespace Synod.Client;

/// <summary>
/// A client of a Synod cluster. Any replica serves any call; the client starts at a random replica (then the
/// last one that answered), fails over to the next on UNAVAILABLE, a connection failure or an attempt deadline,
/// and retries with backoff until the operation's deadline. Writes are exactly-once: a write keeps its client id
/// and sequence across every retry, so the replicas apply it once.
/// </summary>
/// <remarks>
/// Thread-safe. Concurrent writes do not share a client id: each rents an exactly-once session (client id and
/// next sequence) from a small pool for its whole life, because the replicas refuse a sequence older than the
/// last one applied under an id, and two writes racing under one id would make the slower one stale.
/// One gRPC channel per endpoint (HTTP/2 without TLS), created on first use and reused.
/// </remarks>
public sealed partial class SynodClient : IAsyncDisposable
{
    /// <summary>
    /// Room for the request or response fields around a maximal key and value, and for a transaction's framing around
    /// its TxnBytesMax (up to about 15 bytes per compare and 13 per operation, 128 of each per branch).
    /// </summary>
    private const int MessageOverheadBytes = 16 * 1024;

    private const int MessageBytesMax = RequestRules.KeyBytesMax + RequestRules.ValueBytesMax + MessageOverheadBytes;

    /// <summary>The largest answer taken: a range's (the largest of all) and its fields.</summary>
    private const int ResponseBytesMax = RequestRules.RangeResponseBytesMax + MessageOverheadBytes;

    /// <summary>How soon a channel retries connecting to a replica it could not reach; short, because replicas restart.</summary>
    private static readonly TimeSpan ReconnectBackoffInitial = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan ReconnectBackoffMax = TimeSpan.FromSeconds(1);

    private readonly SynodClientOptions _options;
    private readonly TimeProvider _time;
    private readonly string[] _endpoints;
    private readonly Lazy<GrpcChannel>[] _channels;

    /// <summary>Per endpoint: whether its channel has reached the replica since this client started (a call answered, a status received, or seen connected).</summary>
    private readonly bool[] _connected;
    private readonly WriteSessionPool _sessions = new();

    // The replica the next operation starts at: random at first, so many clients spread out, then the last that answered.
    private int _preferredIndex;

    // The replica id each endpoint answered with last (0 until it answered), to find the leader's endpoint by id.
    private readonly uint[] _servedByAt;
    private int _disposed;

    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public SynodClient(SynodClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _endpoints = [.. options.Endpoints.Select(e => e.Trim())];
        _channels = [.. _endpoints.Select(e => new Lazy<GrpcChannel>(() => CreateChannel(e), LazyThreadSafetyMode.ExecutionAndPublication))];
        _connected = new bool[_endpoints.Length];
        _preferredIndex = Random.Shared.Next(_endpoints.Length);
        _servedByAt = new uint[_endpoints.Length];
    }

    /// <summary>The replicas, as given; indexes into this list are what <see cref="SynodCallOptions.PinnedEndpointIndex"/> and <see cref="StatusAsync(int, TimeSpan?, CancellationToken)"/> take.</summary>
    public IReadOnlyList<string> Endpoints => _endpoints;

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>, exactly once however often it is retried.</summary>
    /// <exception cref="SynodInvalidArgumentException">The key is empty or too long, or the value too long.</exception>
    /// <exception cref="SynodUnavailableException">The deadline passed; <see cref="SynodUnavailableException.OutcomeUnknown"/> says whether the write may still take effect.</exception>
    /// <exception cref="SynodSessionExpiredException">The replicas forgot this client's session; the write was not applied.</exception>
    public Task<PutResult> PutAsync(
        ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        PutAsync(key, value, compare: null, options, cancellationToken);

    /// <summary>
    /// Sets <paramref name="key"/> to <paramref name="value"/> only if <paramref name="compare"/> holds when the write is
    /// applied (compare-and-swap; null: always), exactly once however often it is retried. A compare that does not
    /// hold is no error: the result's <see cref="PutResult.CompareFailed"/> is true and it gives the key's current
    /// version and revisions.
    /// </summary>
    public Task<PutResult> PutAsync(
        ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SynodCompare? compare, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        PutAsync(key, value, lease: 0, compare, options, cancellationToken);

    /// <summary>Sets a key to a value, both as UTF-8, only if <paramref name="compare"/> holds (see the byte overload).</summary>
    public Task<PutResult> PutAsync(string key, string value, SynodCompare? compare, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        PutAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), compare, options, cancellationToken);

    /// <summary>The compare as the wire carries it, after the same checks the replicas make; null for none.</summary>
    private static Compare? ValidatedCompare(byte operation, SynodCompare? compare, int valueBytes)
    {
        if (compare is null)
        {
            return null;
        }

        if (compare.Target is < CompareTarget.Version or > CompareTarget.Value || compare.Op is < CompareOp.Equal or > CompareOp.Greater)
        {
            throw new SynodInvalidArgumentException($"The compare names target {compare.Target} and op {compare.Op}; give a defined target and op.");
        }

        if (RequestRules.ConditionProblem(operation, (byte)compare.Target, compare.Number, compare.Value.ToArray(), valueBytes) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        return compare.ToProto();
    }

    /// <summary>Sets a key to a value, both as UTF-8.</summary>
    public Task<PutResult> PutAsync(string key, string value, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        PutAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), options, cancellationToken);

    /// <summary>
    /// Reads a key. By default the read is linearizable (the replica confirms a read index first); with
    /// <paramref name="stale"/> the contacted replica answers at once from what it has applied, and
    /// <see cref="GetResult.LagSlots"/> says how far behind it may be.
    /// </summary>
    /// <exception cref="SynodNotFoundException">The key has no value.</exception>
    public Task<GetResult> GetAsync(
        ReadOnlyMemory<byte> key, bool stale = false, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        GetAsync(key, revision: 0, stale, options, cancellationToken);

    /// <summary>
    /// Reads a key as it was at <paramref name="revision"/> (0: now), within the history the replicas keep; otherwise
    /// as <see cref="GetAsync(ReadOnlyMemory{byte}, bool, SynodCallOptions?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="SynodNotFoundException">The key had no value then.</exception>
    /// <exception cref="SynodCompactedException">The revision has been compacted.</exception>
    /// <exception cref="SynodInvalidArgumentException">The revision is past the one the replica has applied.</exception>
    public async Task<GetResult> GetAsync(
        ReadOnlyMemory<byte> key, long revision, bool stale = false, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var keyBytes = key.ToArray();
        RequestValidation.ThrowIfInvalid(RequestRules.Put, keyBytes, []);
        ThrowIfInvalidRevision(revision);
        var request = new GetRequest { Key = UnsafeByteOperations.UnsafeWrap(keyBytes), Stale = stale, Revision = revision };
        var history = new AttemptHistory("get", isWrite: false);
        var (response, endpoint) = await CallAsync(
            history, options, keyBytes, (client, callOptions) => client.GetAsync(request, callOptions), cancellationToken);
        return new GetResult(
            response.Value.Memory, response.ServedBy, response.AppliedSlot, response.LagSlots, endpoint,
            response.Revision, response.CreateRevision, response.ModRevision, response.Version);
    }

    /// <summary>Reads a key given as UTF-8.</summary>
    public Task<GetResult> GetAsync(string key, bool stale = false, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        GetAsync(Encoding.UTF8.GetBytes(key), stale, options, cancellationToken);

    /// <summary>Reads a key given as UTF-8 as it was at <paramref name="revision"/>.</summary>
    public Task<GetResult> GetAsync(string key, long revision, bool stale = false, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        GetAsync(Encoding.UTF8.GetBytes(key), revision, stale, options, cancellationToken);

    private static void ThrowIfInvalidRevision(long revision)
    {
        if (revision is < 0 or > RequestRules.RevisionMax)
        {
            throw new SynodInvalidArgumentException($"The revision is {revision}; give 0 (the current one) or a revision in 1..{RequestRules.RevisionMax}.");
        }
    }

    /// <summary>
    /// Compacts the history up to <paramref name="revision"/>, which becomes the oldest revision the replicas keep
    /// (a point already passed stays); exactly once, through the log. Returns the oldest revision kept afterwards.
    /// </summary>
    /// <exception cref="SynodInvalidArgumentException">The revision is past the one the contacted replica has applied.</exception>
    public Task<long> CompactAsync(long revision, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (revision is < 1 or > RequestRules.RevisionMax)
        {
            throw new SynodInvalidArgumentException($"The revision to compact to is {revision}; give one in 1..{RequestRules.RevisionMax}.");
        }

        return WriteAsync(
            "compact",
            options,
            [],
            (session, client, callOptions) => client.CompactAsync(
                new CompactRequest { ClientId = session.ClientId, Sequence = session.NextSequence, Revision = revision }, callOptions),
            (response, session, endpoint) => response.CompactRevision,
            cancellationToken);
    }

    /// <summary>
    /// Reads the keys of <paramref name="range"/>, in bytewise order, from one applied state: linearizable by default,
    /// from the contacted replica at once with <paramref name="stale"/>. One page: when <see cref="RangeResult.More"/>
    /// is true, <see cref="RangeAllAsync"/> reads on.
    /// </summary>
    public async Task<RangeResult> RangeAsync(SynodRange range, bool stale = false, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(range);
        ThrowIfInvalidRevision(range.Revision);
        if (range.From.Length > RequestRules.KeyBytesMax + 1 || range.To.Length > RequestRules.KeyBytesMax + 1 || range.Limit < 0 || (range.KeysOnly && range.CountOnly))
        {
            throw new SynodInvalidArgumentException(
                $"The range is invalid: its start and end may be at most {RequestRules.KeyBytesMax + 1} bytes, its limit 0 or more, and it is keys-only or count-only, not both.");
        }

        var request = new RangeRequest
        {
            From = ByteString.CopyFrom(range.From.Span),
            To = ByteString.CopyFrom(range.To.Span),
            Limit = range.Limit,
            KeysOnly = range.KeysOnly,
            CountOnly = range.CountOnly,
            Stale = stale,
            Revision = range.Revision,
        };
        var history = new AttemptHistory("range", isWrite: false);
        var (response, endpoint) = await CallAsync(
            history, options, range.From, (client, callOptions) => client.RangeAsync(request, callOptions), cancellationToken);
        var kvs = response.Kvs.Select(kv => new SynodKeyValue(kv.Key.Memory, kv.Value.Memory, kv.CreateRevision, kv.ModRevision, kv.Version)).ToList();
        return new RangeResult(kvs, response.More, response.Count, response.Revision, response.ServedBy, response.AppliedSlot, response.LagSlots, endpoint);
    }

    /// <summary>
    /// Every key of <paramref name="range"/> (up to its limit), reading page after page. A linearizable read reads every
    /// page at the first page's revision, so the pages together are one state, as long as the history window holds that
    /// revision: if it moves past it meanwhile, the rest is read as it stands. With <paramref name="stale"/> each page is
    /// one applied state of its own. Either way, without one state a key written between two pages may show its newer
    /// value. Give the range a <see cref="SynodRange.Revision"/> to have one state or a <see cref="SynodCompactedException"/>.
    /// </summary>
    public async IAsyncEnumerable<SynodKeyValue> RangeAllAsync(
        SynodRange range, bool stale = false, SynodCallOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(range);
        var page = range with { CountOnly = false };
        var left = range.Limit;
        while (true)
        {
            RangeResult result;
            try
            {
                result = await RangeAsync(page, stale, options, cancellationToken);
            }
            catch (SynodCompactedException) when (range.Revision == 0 && page.Revision != 0)
            {
                // The window moved past the first page's revision: the rest is read as it stands, page by page.
                page = page with { Revision = 0 };
                result = await RangeAsync(page, stale, options, cancellationToken);
            }

            foreach (var kv in result.Kvs)
            {
                yield return kv;
            }

            left -= result.Kvs.Count;
            if (!result.More || result.Kvs.Count == 0 || (range.Limit > 0 && left <= 0))
            {
                yield break;
            }

            // On from just after the last key returned: that key with a zero byte appended.
            // A linearizable read pins the pages to the first one's revision, so that together they are one state; a
            // stale one cannot (the next replica may not have applied that far).
            page = page with
            {
                From = (byte[])[.. result.Kvs[^1].Key.Span, 0],
                Limit = range.Limit > 0 ? left : 0,
                Revision = page.Revision == 0 && !stale ? result.Revision : page.Revision,
            };
        }
    }

    /// <summary>Starts a transaction (<see cref="SynodTxn"/>): compares with If, operations with Then and Else, then CommitAsync.</summary>
    public SynodTxn Txn() => new(this);

    internal Task<TxnResult> CommitTxnAsync(
        IReadOnlyList<TxnCompare> compares, IReadOnlyList<TxnOp> success, IReadOnlyList<TxnOp> failure, SynodCallOptions? options, CancellationToken cancellationToken)
    {
        if (TxnProblem(compares, success, failure) is { } problem)
        {
            throw new SynodInvalidArgumentException(problem);
        }

        var first = compares.Select(c => c.Key).Concat(success.Select(o => o.Key)).FirstOrDefault() ?? ByteString.Empty;
        return WriteAsync(
            "txn",
            options,
            first.ToByteArray(),
            (session, client, callOptions) =>
            {
                var request = new TxnRequest { ClientId = session.ClientId, Sequence = session.NextSequence };
                request.Compare.AddRange(compares);
                request.Success.AddRange(success);
                request.Failure.AddRange(failure);
                return client.TxnAsync(request, callOptions);
            },
            (response, session, endpoint) => new TxnResult(
                response.Succeeded, response.Revision, response.Results, response.Duplicate, response.Slot, response.ServedBy, endpoint,
                ResultsAvailable: !response.Duplicate || (response.Succeeded ? success : failure).Count == 0),
            cancellationToken);
    }

    /// <summary>The checks the replicas make that need no state: counts, sizes, empty keys, a key written twice per branch.</summary>
    private static string? TxnProblem(IReadOnlyList<TxnCompare> compares, IReadOnlyList<TxnOp> success, IReadOnlyList<TxnOp> failure)
    {
        if (compares.Count > RequestRules.TxnOpsMax || success.Count > RequestRules.TxnOpsMax || failure.Count > RequestRules.TxnOpsMax)
        {
            return $"The transaction has {compares.Count} compares, {success.Count} then and {failure.Count} else operations; each is at most TxnOpsMax ({RequestRules.TxnOpsMax}).";
        }

        var bytes = compares.Sum(c => (long)c.Key.Length + c.Value.Length) + success.Concat(failure).Sum(o => (long)o.Key.Length + o.Value.Length + o.RangeEnd.Length);
        if (bytes > RequestRules.TxnBytesMax)
        {
            return $"The transaction's keys and values are {bytes} bytes in all, over TxnBytesMax ({RequestRules.TxnBytesMax} bytes).";
        }

        foreach (var branch in new[] { success, failure })
        {
            var written = new HashSet<ByteString>();
            foreach (var op in branch)
            {
                if (op.Kind != TxnOpKind.Range && op.Key.IsEmpty)
                {
                    return "A transaction's operation has an empty key; a key needs at least 1 byte.";
                }

                if (op.Kind is TxnOpKind.Put or TxnOpKind.Delete && !written.Add(op.Key))
                {
                    return $"The transaction writes key \"{op.Key.ToStringUtf8()}\" twice in one branch; write each key at most once per branch.";
                }
            }
        }

        return null;
    }

    /// <summary>Removes a key, exactly once; the result says whether it existed.</summary>
    /// <exception cref="SynodUnavailableException">The deadline passed; <see cref="SynodUnavailableException.OutcomeUnknown"/> says whether the delete may still take effect.</exception>
    public Task<DeleteResult> DeleteAsync(ReadOnlyMemory<byte> key, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(key, compare: null, options, cancellationToken);

    /// <summary>Removes a key only if <paramref name="compare"/> holds when the delete is applied (null: always), exactly once.</summary>
    public Task<DeleteResult> DeleteAsync(ReadOnlyMemory<byte> key, SynodCompare? compare, SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var keyBytes = key.ToArray();
        RequestValidation.ThrowIfInvalid(RequestRules.Delete, keyBytes, []);
        var compareProto = ValidatedCompare(RequestRules.Delete, compare, 0);
        return WriteAsync(
            "delete",
            options,
            keyBytes,
            (session, client, callOptions) => client.DeleteAsync(
                new DeleteRequest { Key = UnsafeByteOperations.UnsafeWrap(keyBytes), ClientId = session.ClientId, Sequence = session.NextSequence, Compare = compareProto },
                callOptions),
            (response, session, endpoint) => new DeleteResult(
                response.Existed, response.Slot, response.ServedBy, session.ClientId, session.NextSequence, endpoint,
                response.Revision, response.CompareFailed, response.ModRevision, response.Version),
            cancellationToken);
    }

    /// <summary>Removes a key given as UTF-8.</summary>
    public Task<DeleteResult> DeleteAsync(string key, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(Encoding.UTF8.GetBytes(key), options, cancellationToken);

    /// <summary>Removes a key given as UTF-8 only if <paramref name="compare"/> holds (see the byte overload).</summary>
    public Task<DeleteResult> DeleteAsync(string key, SynodCompare? compare, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(Encoding.UTF8.GetBytes(key), compare, options, cancellationToken);

    /// <summary>
    /// Asks one replica (an index into <see cref="Endpoints"/>) for its state. No failover: a replica that cannot
    /// be connected fails at once with <see cref="SynodUnreachableException"/>.
    /// </summary>
    /// <param name="endpointIndex">The replica, from 0.</param>
    /// <param name="timeout">How long to wait for it; <see cref="SynodClientOptions.AttemptTimeout"/> if null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<StatusResponse> StatusAsync(int endpointIndex, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var options = new SynodCallOptions { PinnedEndpointIndex = endpointIndex, OperationTimeout = timeout ?? _options.AttemptTimeout };
        var history = new AttemptHistory("status", isWrite: false);
        var (response, _) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.StatusAsync(new StatusRequest(), callOptions), cancellationToken);
        return response;
    }

    /// <summary>Asks the replica at <paramref name="endpoint"/>, which must be one of <see cref="Endpoints"/>, for its state.</summary>
    public Task<StatusResponse> StatusAsync(string endpoint, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var index = Array.FindIndex(_endpoints, e => string.Equals(e, endpoint?.Trim(), StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            throw new ArgumentException(
                $"'{endpoint}' is not one of this client's endpoints ({string.Join(",", _endpoints)}); list it in SynodClientOptions.Endpoints.",
                nameof(endpoint));
        }

        return StatusAsync(index, timeout, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (var channel in _channels.Where(c => c.IsValueCreated))
            {
                channel.Value.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    private SocketsHttpHandler Handler()
    {
        var handler = SynodClientTls.Handler(_options.Tls);
        handler.ConnectTimeout = _options.AttemptTimeout;
        handler.PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan;
        handler.EnableMultipleHttp2Connections = true;
        return handler;
    }

    private GrpcChannel CreateChannel(string endpoint)
    {
        if (!EndpointAddress.TryParse(endpoint, out var address, out var problem, _options.Tls is not null))
        {
            // Validate() accepted every endpoint, so this is a broken invariant rather than bad input.
            throw new InvalidOperationException($"Endpoint '{endpoint}' passed validation but does not parse: {problem}");
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = Handler(),
            MaxReceiveMessageSize = ResponseBytesMax,
            MaxSendMessageSize = MessageBytesMax,
            InitialReconnectBackoff = ReconnectBackoffInitial,
            MaxReconnectBackoff = ReconnectBackoffMax,
        });
    }
}
