using Google.Protobuf;
using Grpc.Core;
using Synod.Driver;
using Synod.Kv;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// The client API on every replica. Writes are proposed here (the core forwards them to the leader) and answered
/// when this replica applies them; reads are served here once a read index is confirmed and applied. Bad input is
/// refused before it reaches consensus; a request that cannot finish before its deadline gets UNAVAILABLE with a
/// sentence saying why, and for a write that the outcome is unknown.
/// </summary>
internal sealed partial class KvService(ReplicaHost host, ServerOptions options, ResponseBudget responses, AuthGate auth) : KvApi
{
    private const int AnswerBeforeDeadlineMs = 250;

    /// <summary>
    /// How long a timed-out request waits for the replica's status to explain its error. Shorter than
    /// <see cref="AnswerBeforeDeadlineMs"/>, so that an overloaded owner loop cannot hold the answer past the caller's deadline.
    /// </summary>
    private const int ErrorStatusWaitMs = 100;

    public override async Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        var command = new KvCommand(request.ClientId, request.Sequence, KvOperation.Put, ProtoBytes.OwnedArray(request.Key), ProtoBytes.OwnedArray(request.Value))
        {
            Condition = ConditionOf(request.Compare),
            Lease = request.Lease,
        };
        var outcome = await WriteAsync(command, context);
        var entry = outcome.Entry.GetValueOrDefault();
        return new PutResponse
        {
            Slot = (ulong)outcome.Slot,
            ServedBy = (uint)options.Id,
            Duplicate = outcome.Duplicate,
            LeaderId = host.KnownLeaderId,
            CompareFailed = outcome.Status == KvStatus.CompareFailed,
            Revision = outcome.Revision,
            CreateRevision = entry.CreateRevision,
            ModRevision = entry.ModRevision,
            Version = entry.Version,
        };
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        var command = new KvCommand(request.ClientId, request.Sequence, KvOperation.Delete, ProtoBytes.OwnedArray(request.Key), [])
        {
            Condition = ConditionOf(request.Compare),
        };
        var outcome = await WriteAsync(command, context);
        var entry = outcome.Entry.GetValueOrDefault();
        return new DeleteResponse
        {
            Existed = outcome.Status == KvStatus.Ok,
            ServedBy = (uint)options.Id,
            Slot = (ulong)outcome.Slot,
            LeaderId = host.KnownLeaderId,
            CompareFailed = outcome.Status == KvStatus.CompareFailed,
            Revision = outcome.Revision,
            ModRevision = entry.ModRevision,
            Version = entry.Version,
        };
    }

    /// <summary>The request's compare as the state machine takes it; null when there is none. An incomplete one is refused.</summary>
    private static KvCondition? ConditionOf(Compare? compare) =>
        compare is null ? null : ConditionOf(compare.Target, compare.Op, compare.Number, compare.Value);

    /// <summary>A compare's fields as the state machine takes them; an incomplete compare is refused.</summary>
    private static KvCondition ConditionOf(CompareTarget target, CompareOp op, long number, ByteString value)
    {
        if (target is < CompareTarget.Version or > CompareTarget.Value || op is < CompareOp.Equal or > CompareOp.Greater)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the compare names target {(int)target} and op {(int)op}: give a target (VERSION, CREATE_REVISION, MOD_REVISION or VALUE) and an op (EQUAL, NOT_EQUAL, LESS or GREATER)."));
        }

        return new KvCondition((KvCompareTarget)target, (KvCompareOp)op, number, ProtoBytes.OwnedArray(value));
    }

    public override async Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        if (request.Nonce == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the registration's nonce is 0; pick any non-zero number (the client library picks a random one)."));
        }

        // A client id is only good for writing, which needs a user while authentication is on: the sessions it would
        // take (and evict others' for) are not handed out to anyone who reaches the port.
        auth.RequireUser(auth.UserOf(context), "register a client id (every write needs one)");

        var outcome = await WriteAsync(new KvCommand(0, request.Nonce, KvOperation.Register, [], []), context);
        return new RegisterResponse { ClientId = outcome.RegisteredClientId, Slot = (ulong)outcome.Slot, ServedBy = (uint)options.Id, LeaderId = host.KnownLeaderId };
    }

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        var key = ProtoBytes.OwnedArray(request.Key);
        Validate(new KvCommand(1, 1, KvOperation.Put, key, []));
        var user = auth.UserOf(context);
        var completion = ReplicaHost.NewAnswerCompletion<ReadOutcome>();
        var outcome = await ReadAsync(new ReadInput(key, request.Stale, completion, RevisionOf(request.Revision)), completion, context);

        // Checked once answered, against roles at least as new as the read (the replica applied up to its read index).
        auth.RequireRead(user, key);
        RefuseRevision(outcome.Refused);
        if (outcome.Entry is not { } entry)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"key not found (replica {options.Id}, applied slot {outcome.AppliedSlot}, revision {outcome.Revision})"));
        }

        responses.Reserve(context, entry.Value.Length);
        return new GetResponse
        {
            Value = UnsafeByteOperations.UnsafeWrap(entry.Value),
            ServedBy = (uint)options.Id,
            AppliedSlot = (ulong)outcome.AppliedSlot,
            LagSlots = (ulong)outcome.LagSlots,
            LeaderId = host.KnownLeaderId,
            Revision = outcome.Revision,
            CreateRevision = entry.CreateRevision,
            ModRevision = entry.ModRevision,
            Version = entry.Version,
        };
    }

    public override async Task<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        var range = RangeOf(request);
        var user = auth.UserOf(context);
        var completion = ReplicaHost.NewAnswerCompletion<RangeOutcome>();
        var outcome = await ReadAsync(new RangeInput(range, request.Stale, completion, RevisionOf(request.Revision)), completion, context);
        auth.RequireRead(user, range.From, range.To);
        RefuseRevision(outcome.Refused);
        var response = new RangeResponse
        {
            More = outcome.Result.More,
            Count = outcome.Result.Count,
            Revision = outcome.Revision,
            ServedBy = (uint)options.Id,
            AppliedSlot = (ulong)outcome.AppliedSlot,
            LagSlots = (ulong)outcome.LagSlots,
            LeaderId = host.KnownLeaderId,
        };
        var bytes = 0;
        foreach (var (key, entry) in outcome.Result.Entries)
        {
            bytes += key.Length + entry.Value.Length;
            response.Kvs.Add(ProtoBytes.KeyValueOf(key, entry));
        }

        responses.Reserve(context, bytes);
        return response;
    }

    /// <summary>The trailer of a NOT_FOUND answer to a write whose lease does not exist (as opposed to an absent key).</summary>
    public const string LeaseNotFoundTrailer = "synod-lease-not-found";

    /// <summary>
    /// The trailer of a RESOURCE_EXHAUSTED answer to a write refused by the write quota (as opposed to an overloaded
    /// replica): every replica holds the same data, so the client does not retry it elsewhere.
    /// </summary>
    public const string NoSpaceTrailer = "synod-no-space";

    /// <summary>
    /// The trailer of an UNAVAILABLE answer to a write that says this attempt was not proposed (no leader known, or the
    /// replica lags too far to judge the write quota): it adds no doubt about the write's outcome.
    /// </summary>
    public const string NotProposedTrailer = "synod-not-proposed";

    /// <summary>The trailer of an UNAVAILABLE answer to a lease keep-alive or TTL query that names the leader to ask (0: none known).</summary>
    public const string LeaderTrailer = "synod-leader";

    public override async Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context)
    {
        if (request.Ttl < host.LeaseTtlSecondsMin || request.Ttl > KvLimits.LeaseTtlSecondsMax)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the lease TTL is {request.Ttl} seconds; it must lie in {host.LeaseTtlSecondsMin}..{KvLimits.LeaseTtlSecondsMax} (the least is twice the longest election, so that a leader change cannot end a lease kept alive)."));
        }

        var outcome = await WriteAsync(KvCommand.GrantLease(request.ClientId, request.Sequence, request.Id, request.Ttl), context);
        return new LeaseGrantResponse
        {
            Id = request.Id,
            Ttl = request.Ttl,
            Duplicate = outcome.Duplicate,
            Slot = (ulong)outcome.Slot,
            ServedBy = (uint)options.Id,
            LeaderId = host.KnownLeaderId,
        };
    }

    public override async Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context)
    {
        var outcome = await WriteAsync(KvCommand.RevokeLease(request.ClientId, request.Sequence, request.Id), context);
        if (outcome.Status == KvStatus.NotFound && !outcome.Duplicate)
        {
            throw new RpcException(
                new Status(StatusCode.NotFound, $"lease {request.Id} does not exist (never granted, revoked or expired already)."),
                new Metadata { { LeaseNotFoundTrailer, "1" } });
        }

        return new LeaseRevokeResponse
        {
            Revision = outcome.Revision,
            Duplicate = outcome.Duplicate,
            Slot = (ulong)outcome.Slot,
            ServedBy = (uint)options.Id,
            LeaderId = host.KnownLeaderId,
        };
    }

    public override async Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context)
    {
        var user = auth.UserOf(context);
        auth.RequireUser(user, "query a lease");
        var lease = await LeaseAsync(request.Id, keepAlive: false, request.Keys, context);
        var response = new LeaseTimeToLiveResponse
        {
            Id = request.Id,
            Ttl = lease.Found ? lease.RemainingSeconds : -1,
            GrantedTtl = lease.TtlSeconds,
            ServedBy = (uint)options.Id,
        };
        var bytes = 0;
        // Only the keys the user may read (etcd's CVE-2023-32082: a lease's keys listed to anyone).
        foreach (var key in lease.Keys.Where(key => auth.Auth.Allows(user, key, write: false)))
        {
            bytes += key.Length;
            if (bytes > KvLimits.RangeBytesMax)
            {
                break;
            }

            response.Keys.Add(UnsafeByteOperations.UnsafeWrap(key));
        }

        return response;
    }

    public override async Task<LeaseLeasesResponse> LeaseLeases(LeaseLeasesRequest request, ServerCallContext context)
    {
        auth.RequireUser(auth.UserOf(context), "list leases");
        var completion = ReplicaHost.NewAnswerCompletion<LeaseListOutcome>();
        var outcome = await ReadAsync(new LeaseListInput(options.LeasesListMax, completion), completion, context);
        var response = new LeaseLeasesResponse { More = outcome.More, ServedBy = (uint)options.Id };
        response.Leases.AddRange(outcome.Leases.Select(lease => new LeaseStatus { Id = lease.Id, Ttl = lease.TtlSeconds }));
        return response;
    }

    /// <summary>
    /// Keep-alives, one at a time per stream: each is answered by the leader that measures leases (with what is left of
    /// the TTL, or found false once the lease is gone). Anywhere else the stream ends UNAVAILABLE naming the leader.
    /// </summary>
    public override async Task LeaseKeepAlive(
        IAsyncStreamReader<LeaseKeepAliveRequest> requestStream, IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        auth.RequireUser(auth.UserOf(context), "keep a lease alive");
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var id = requestStream.Current.Id;
            if (KvLimits.LeaseIdProblem(id) is { } problem)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
            }

            var lease = await LeaseAsync(id, keepAlive: true, keys: false, context);
            await responseStream.WriteAsync(new LeaseKeepAliveResponse
            {
                Id = id,
                Ttl = lease.Found ? lease.RemainingSeconds : 0,
                Found = lease.Found,
                ServedBy = (uint)options.Id,
            });
        }
    }

    private async Task<LeaseOutcome> LeaseAsync(long id, bool keepAlive, bool keys, ServerCallContext context)
    {
        if (KvLimits.LeaseIdProblem(id) is { } problem)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
        }

        var completion = ReplicaHost.NewAnswerCompletion<LeaseOutcome>();
        try
        {
            return await ReadAsync(new LeaseInput(id, keepAlive, keys, completion), completion, context);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            throw NotTheLeader("does not measure leases", "no leader measures leases yet (an election or a new leader's first moments)");
        }
    }

    /// <summary>UNAVAILABLE for a call only the leader serves, naming the leader in the synod-leader trailer (0: none known).</summary>
    private RpcException NotTheLeader(string what, string whenNoLeader)
    {
        var leader = host.KnownLeaderId;
        var where = leader == 0 || leader == options.Id ? whenNoLeader : $"replica {leader} leads";
        return new RpcException(
            new Status(StatusCode.Unavailable, $"replica {options.Id} {what}: {where}. Ask the leader (the client library does)."),
            new Metadata { { LeaderTrailer, (leader == options.Id ? 0 : leader).ToString(System.Globalization.CultureInfo.InvariantCulture) } });
    }

    /// <summary>The trailer of an OUT_OF_RANGE answer that gives the oldest revision kept, for clients to resume from.</summary>
    public const string CompactRevisionTrailer = "synod-compact-revision";

    private static long RevisionOf(long revision) =>
        revision is >= 0 and <= KvStateMachine.RevisionMax ? revision
        : throw new RpcException(new Status(StatusCode.InvalidArgument, $"the revision is {revision}; give 0 (the current one) or a revision in 1..{KvStateMachine.RevisionMax}."));

    /// <summary>A read at a revision this replica cannot serve: compacted (OUT_OF_RANGE, with the oldest kept) or in the future.</summary>
    private void RefuseRevision(RevisionRefusal? refused)
    {
        if (refused is null)
        {
            return;
        }

        if (!refused.Compacted)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{refused.Message} (replica {options.Id})"));
        }

        throw new RpcException(
            new Status(StatusCode.OutOfRange, $"{refused.Message} Read at revision {Math.Min(refused.CompactRevision, refused.Revision)} or later."),
            new Metadata { { CompactRevisionTrailer, refused.CompactRevision.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
    }

    public override async Task<CompactResponse> Compact(CompactRequest request, ServerCallContext context)
    {
        var outcome = await WriteAsync(KvCommand.CompactTo(request.ClientId, request.Sequence, request.Revision), context);
        if (outcome.Status == KvStatus.RevisionInFuture)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"revision {request.Revision} is in the future: the cluster was at revision {outcome.Revision} when the compaction was applied; compact to that or less. Nothing was compacted."));
        }

        return new CompactResponse
        {
            CompactRevision = outcome.Revision,
            ServedBy = (uint)options.Id,
            Slot = (ulong)outcome.Slot,
            LeaderId = host.KnownLeaderId,
            Duplicate = outcome.Duplicate,
        };
    }

    public override async Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        var txn = new KvTxn(
            [.. request.Compare.Select(c => new KvTxnCompare(ProtoBytes.OwnedArray(c.Key), ConditionOf(c.Target, c.Op, c.Number, c.Value)))],
            [.. request.Success.Select(TxnOpOf)],
            [.. request.Failure.Select(TxnOpOf)]);
        var outcome = await WriteAsync(new KvCommand(request.ClientId, request.Sequence, KvOperation.Txn, [], []) { Txn = txn }, context);
        var response = new TxnResponse
        {
            Succeeded = outcome.Status == KvStatus.Ok,
            Revision = outcome.Revision,
            Duplicate = outcome.Duplicate,
            Slot = (ulong)outcome.Slot,
            ServedBy = (uint)options.Id,
            LeaderId = host.KnownLeaderId,
        };
        var bytes = 0L;
        foreach (var result in outcome.Txn?.Results ?? [])
        {
            var answer = new TxnOpResult { Kind = (TxnOpKind)result.Kind, Existed = result.Existed };
            if (result.Entry is { } entry)
            {
                answer.Found = true;
                answer.Kv = ProtoBytes.KeyValueOf(result.Key, entry);
                bytes += entry.Value.Length;
            }

            if (result.Range is { } range)
            {
                answer.More = range.More;
                answer.Count = range.Count;
                foreach (var (key, found) in range.Entries)
                {
                    answer.Kvs.Add(ProtoBytes.KeyValueOf(key, found));
                    bytes += key.Length + found.Value.Length;
                }
            }

            response.Results.Add(answer);
        }

        responses.Reserve(context, bytes);
        return response;
    }

    private static KvTxnOp TxnOpOf(TxnOp op)
    {
        if (op.Kind is < TxnOpKind.Put or > TxnOpKind.Range)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a transaction's operation has kind {(int)op.Kind}: give PUT, DELETE, GET or RANGE."));
        }

        if (op.Limit is < 0 or > int.MaxValue)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a transaction's range has limit {op.Limit}; give 0 (none of your own) or 1 to {int.MaxValue}."));
        }

        return new KvTxnOp((KvTxnOpKind)op.Kind, ProtoBytes.OwnedArray(op.Key), ProtoBytes.OwnedArray(op.Value), ProtoBytes.OwnedArray(op.RangeEnd), (int)op.Limit, op.Lease);
    }

    /// <summary>The request's range, checked; a prefix or a range, not both.</summary>
    /// <summary>
    /// A watch stream: the client's creates, cancels and progress requests go to the owner loop as they arrive; the
    /// replica's answers go out from the stream's bounded queue. A create that is not valid is answered canceled with
    /// the reason, and the stream goes on. When the client ends the stream (or goes away) its watchers end.
    /// </summary>
    public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        var (user, signIn) = auth.SignInOf(context);
        var stream = new WatchStream(options.Id, options.WatchStreamBytesMax, host.WatchEvents, host.WatchBytes);
        var writer = Task.Run(async () =>
        {
            await foreach (var (response, bytes) in stream.Responses.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(response, context.CancellationToken);
                stream.Written(bytes);
            }
        });
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                // A client that sends without reading would otherwise grow the queue of answers (created, refused)
                // without a bound: its requests wait until it has read what is queued.
                await stream.WaitForRoomAsync(context.CancellationToken);
                var request = requestStream.Current;
                switch (request.RequestCase)
                {
                    case WatchRequest.RequestOneofCase.Create:
                        var create = request.Create;
                        if (WatchProblem(create, stream) is { } problem)
                        {
                            stream.Refused(create.WatchId, problem);
                            break;
                        }

                        // The stream's token is judged again at every create: one that has expired or been retired since the
                        // stream opened ends the stream (UNAUTHENTICATED), as any other call with it would be refused.
                        _ = auth.SignInOf(context);
                        if (WatchDenied(user, create) is { } denied)
                        {
                            stream.Refused(create.WatchId, denied, permissionDenied: true);
                            break;
                        }

                        var watchId = stream.Register(create.WatchId, create.PrevKv);
                        await host.PostAsync(new WatchCreateInput(stream, watchId, WatchRangeOf(create), create.StartRevision, create.ProgressNotify, user, signIn), context.CancellationToken);
                        break;
                    case WatchRequest.RequestOneofCase.Cancel:
                        await host.PostAsync(new WatchCancelInput(stream, request.Cancel.WatchId), context.CancellationToken);
                        break;
                    case WatchRequest.RequestOneofCase.Progress:
                        if (stream.TakeProgressRequest())
                        {
                            await host.PostAsync(new WatchProgressInput(stream), context.CancellationToken);
                        }

                        break;
                    default:
                        stream.Refused(0, "the watch request carries neither create, cancel nor progress; send one of them.");
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            host.PostWatchClosed(stream);
            stream.Complete();
            try
            {
                await writer;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                // The client went away mid-write; nothing is left to tell it.
            }
            finally
            {
                stream.Discard();
            }
        }
    }

    /// <summary>Why the user may not watch the create's range, or null: it must be allowed to read all of it.</summary>
    private string? WatchDenied(string? user, WatchCreateRequest create)
    {
        var range = WatchRangeOf(create);
        try
        {
            auth.RequireRead(user, range.From, range.To);
            return null;
        }
        catch (RpcException e)
        {
            return e.Status.Detail;
        }
    }

    /// <summary>Why a create cannot be served, or null: the range, the start, the id and the stream's bound.</summary>
    private string? WatchProblem(WatchCreateRequest create, WatchStream stream)
    {
        if (!create.Prefix.IsEmpty && (!create.From.IsEmpty || !create.To.IsEmpty))
        {
            return "give a prefix or a range (from, to), not both.";
        }

        if (create.Prefix.Length > KvLimits.KeyBytesMax || create.From.Length > KvLimits.KeyBytesMax + 1 || create.To.Length > KvLimits.KeyBytesMax + 1)
        {
            return $"the watch's prefix, start or end is too long: at most KeyBytesMax ({KvLimits.KeyBytesMax} bytes), or one more for a range's bounds.";
        }

        if (create.StartRevision is < 0 or > KvStateMachine.RevisionMax)
        {
            return $"the start revision is {create.StartRevision}; give 0 (from the next change) or a revision in 1..{KvStateMachine.RevisionMax}.";
        }

        if (create.WatchId < 0)
        {
            return $"the watch id is {create.WatchId}; give 0 (the replica picks one) or a positive id.";
        }

        if (create.WatchId != 0 && stream.InUse(create.WatchId))
        {
            return $"watch id {create.WatchId} is already in use on this stream; give each watch of a stream its own id (an id is free again once its cancel is answered).";
        }

        return stream.Watchers >= options.WatchersPerStreamMax
            ? $"this stream holds WatchersPerStreamMax ({options.WatchersPerStreamMax}) watchers already; open another stream or cancel some."
            : null;
    }

    private static KvRange WatchRangeOf(WatchCreateRequest create) =>
        !create.Prefix.IsEmpty ? KvRange.Prefix(ProtoBytes.OwnedArray(create.Prefix))
        : new KvRange(ProtoBytes.OwnedArray(create.From), ProtoBytes.OwnedArray(create.To));

    private static KvRange RangeOf(RangeRequest request)
    {
        if (!request.Prefix.IsEmpty && (!request.From.IsEmpty || !request.To.IsEmpty))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "give a prefix or a range (from, to), not both."));
        }

        if (request.Limit is < 0 or > int.MaxValue)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the range's limit is {request.Limit}; give 0 (none of your own) or 1 to {int.MaxValue}."));
        }

        var range = !request.Prefix.IsEmpty
            ? KvRange.Prefix(ProtoBytes.OwnedArray(request.Prefix), (int)request.Limit, request.KeysOnly, request.CountOnly)
            : new KvRange(ProtoBytes.OwnedArray(request.From), ProtoBytes.OwnedArray(request.To), (int)request.Limit, request.KeysOnly, request.CountOnly);
        if (request.Prefix.Length > KvLimits.KeyBytesMax || range.Problem() is { } problem)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                range.Problem() ?? $"The prefix is {request.Prefix.Length} bytes, over KeyBytesMax ({KvLimits.KeyBytesMax} bytes)."));
        }

        return range;
    }

    /// <summary>Posts a read and waits for its answer, turning "no leader" and the deadline into the client's errors.</summary>
    private async Task<T> ReadAsync<T>(ClientInput input, TaskCompletionSource<T> completion, ServerCallContext context)
    {
        try
        {
            return await AnswerAsync(input, completion, context);
        }
        catch (NoLeaderException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"replica {options.Id} cannot serve a linearizable read: {e.Message}. Retry, or use a stale read."));
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            completion.TrySetCanceled();
            throw await NoQuorumAsync("read", context.CancellationToken);
        }
        finally
        {
            // Every way out (the caller cancelled or went away, too) marks the driver's waiter abandoned, so its sweep drops it.
            completion.TrySetCanceled();
        }
    }

    public override async Task<StatusResponse> Status(StatusRequest request, ServerCallContext context)
    {
        var status = await host.StatusAsync(context.CancellationToken);
        var response = new StatusResponse
        {
            Id = (uint)status.Id,
            Endpoint = options.ListenEndpoint,
            Role = status.Role,
            LeaderId = (uint)(status.LeaderId ?? 0),
            // A follower's current ballot is the one it has promised; a leader's, the one it leads with.
            Ballot = status.Role == "leader" ? status.Ballot : status.Promised,
            Promised = status.Promised,
            CommitIndex = (ulong)status.CommitIndex,
            AppliedSlot = (ulong)status.AppliedSlot,
            HighestKnownCommit = (ulong)status.HighestKnownCommit,
            SnapshotSlot = (ulong)status.SnapshotSlot,
            ProcessId = Environment.ProcessId,
            Replicas = (uint)status.Replicas,
            Keys = (ulong)status.Keys,
            Rebuilding = status.Rebuilding,
            WalBytes = (ulong)status.WalBytes,
            WalSegments = (uint)status.WalSegments,
            Fsyncs = (ulong)status.Fsyncs,
            WalRecords = (ulong)status.WalRecords,
            PeerMessagesRefused = (ulong)status.PeerMessagesRefused,
            Revision = status.Revision,
            CompactRevision = status.CompactRevision,
            HistoryChanges = (ulong)status.HistoryChanges,
            HistoryBytes = (ulong)status.HistoryBytes,
            Watchers = (uint)status.Watchers,
            WatchQueuedBytes = (ulong)Math.Max(0, host.WatchBytes.Queued),
            Leases = (ulong)status.Leases,
            PreferredLeader = (uint)(status.PreferredLeader ?? 0),
            PreferredLeaderWait = status.PreferredLeaderWait ?? "",
            DataBytes = (ulong)status.DataBytes,
            QuotaBytes = (ulong)status.QuotaBytes,
            SnapshotFrom = (uint)(status.Receiving?.From ?? 0),
            SnapshotReceivedBytes = (ulong)(status.Receiving?.ReceivedBytes ?? 0),
            SnapshotTotalBytes = (ulong)(status.Receiving?.TotalBytes ?? 0),
        };
        var requests = host.Metrics.RecentRequests.LastSecond();
        response.RequestsLastSecond = (ulong)requests.Count;
        response.RequestP50Ms = requests.P50Ms;
        response.RequestP99Ms = requests.P99Ms;
        response.FsyncP99Ms = host.Metrics.RecentFsyncs.LastSecond().P99Ms;
        response.LiveReplicas.AddRange(status.LiveReplicas.Select(r => (uint)r));
        return response;
    }

    private async Task<WriteOutcome> WriteAsync(KvCommand command, ServerCallContext context)
    {
        if (command.ClientId == 0 && command.Operation != KvOperation.Register)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "client id 0 is reserved; write under a client id that Register assigned (the client library registers one)."));
        }

        var writer = auth.UserOf(context);
        if (writer is null && command.Operation != KvOperation.Register && auth.Auth.Enabled)
        {
            // The log would refuse it too; refused here, it never takes a slot (nor a session's sequence).
            throw Denied(command);
        }

        if (writer is { } user)
        {
            // Into the log: the state machine checks the command against this user's roles at its slot, and a
            // registration makes the session this user's alone.
            command = command with { User = user };
        }

        Validate(command);
        var completion = ReplicaHost.NewAnswerCompletion<WriteOutcome>();
        WriteOutcome outcome;
        try
        {
            outcome = await AnswerAsync(new ProposeInput(command.ClientId, command.Sequence, command.Encode(), completion), completion, context);
        }
        catch (NoLeaderException e)
        {
            var what = command.Operation == KvOperation.Register ? "registration" : "write";
            throw new RpcException(
                new Status(StatusCode.Unavailable, $"replica {options.Id} cannot take the {what}: {e.Message}; this attempt was not proposed (an earlier attempt of the same write, here or elsewhere, may still take effect). Retry, here or at another replica."),
                new Metadata { { NotProposedTrailer, "1" } });
        }
        catch (CatchingUpException e)
        {
            // Named, the leader is where the client goes next: it judges with all it knows chosen applied.
            // A leader just elected names itself: it judges again once its phase 1 is applied.
            var leader = host.Metrics.View?.LeaderId ?? 0;
            throw new RpcException(
                new Status(StatusCode.Unavailable, $"replica {options.Id} cannot take the write: {e.Message}; this attempt was not proposed. Retry at the leader{(leader == 0 ? "" : $" (replica {leader})")}."),
                new Metadata { { NotProposedTrailer, "1" }, { LeaderTrailer, leader.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        }
        catch (SequenceInUseException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"sequence {command.Sequence} of client {command.ClientId}: {e.Message}; this request was not proposed."));
        }
        catch (NoSpaceException)
        {
            throw NoSpace(command);
        }
        catch (WriteOutcomeUnknownException e)
        {
            // Unknown, not FailedPrecondition: the client must not take it for "not applied" and resend under a new id.
            throw new RpcException(new Status(StatusCode.Unknown, $"client {command.ClientId}'s {e.Message}; outcome unknown. Read the key to learn whether it took effect."));
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            completion.TrySetCanceled();
            throw command.Operation == KvOperation.Register
                ? await NoQuorumAsync("registration", context.CancellationToken)
                : await NoQuorumAsync("write", context.CancellationToken);
        }
        finally
        {
            // Every way out (the caller cancelled or went away, too) marks the driver's waiter abandoned, so its sweep drops it.
            completion.TrySetCanceled();
        }

        return outcome.Status switch
        {
            KvStatus.Ok or KvStatus.NotFound or KvStatus.CompareFailed or KvStatus.RevisionInFuture
                or KvStatus.AuthExists or KvStatus.AuthRootRequired or KvStatus.AuthFull => outcome,
            KvStatus.PermissionDenied => throw Denied(command),
            KvStatus.LeaseNotFound => throw new RpcException(
                new Status(StatusCode.NotFound, command.Operation == KvOperation.Txn
                    ? "a put of the transaction names a lease that does not exist (never granted, revoked or expired); nothing of the transaction was applied. Grant a new lease."
                    : $"lease {command.Lease} does not exist (never granted, revoked or expired); the put was not applied. Grant a new lease."),
                new Metadata { { LeaseNotFoundTrailer, "1" } }),
            KvStatus.LeaseExists => throw new RpcException(new Status(StatusCode.AlreadyExists,
                $"lease {command.LeaseId} is already granted; pick another id (or none, and the client library picks one).")),
            KvStatus.LeaseKeysFull => throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the write would attach more than LeaseKeysMax ({KvLimits.LeaseKeysMax}) keys to one lease; nothing was written. Attach the rest to another lease.")),
            KvStatus.LeasesFull => throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{KvLimits.LeasesMax} leases are live, the most the cluster keeps (LeasesMax); revoke some first.")),
            KvStatus.SessionExpired => throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"client {command.ClientId}'s session expired on the replicas (evicted to make room for newer ones); the write was not applied. Register a new client id.")),
            KvStatus.UnknownClient => throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"client {command.ClientId} was never assigned by Register (the last id assigned is lower); the write was not applied. Register a client id first.")),
            KvStatus.StaleSequence => throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"sequence {command.Sequence} of client {command.ClientId} is older than one already applied; the write was not applied. Start a new client id.")),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "the replicas refused the command as invalid.")),
        };
    }

    /// <summary>RESOURCE_EXHAUSTED for a write the write quota refused: what the data holds, the quota and what to do.</summary>
    private RpcException NoSpace(KvCommand command)
    {
        var what = command.Operation == KvOperation.Txn ? "transaction" : "put";
        // From the view the owner loop publishes every 200 ms: none yet (or empty) in a replica's first moments.
        var used = host.Metrics.View is { DataBytes: > 0 } view ? $"the keys and values take about {view.DataBytes} bytes at replica {options.Id} and " : "";
        return new RpcException(
            new Status(StatusCode.ResourceExhausted,
                $"database space exceeded: {used}the {what} would take them past the write quota of {options.QuotaBytes} bytes (--quota-bytes); " +
                "this attempt was not proposed. Delete keys or raise --quota-bytes on every replica; deletes and writes that do not grow the data are still served."),
            new Metadata { { NoSpaceTrailer, "1" } });
    }

    /// <summary>PERMISSION_DENIED for a command the state machine refused: the user, the operation and the key.</summary>
    private static RpcException Denied(KvCommand command)
    {
        var user = command.User.Length == 0 ? null : command.User;
        var readToo = command.Condition is null ? "" : " (a conditional write also reads it)";
        var onLease = command.Lease == 0 ? "" : $" on lease {command.Lease}";
        return command.Operation switch
        {
            KvOperation.Put => AuthGate.Denied(user, $"write key {KvAuth.KeyText(command.Key)}{onLease}{readToo}",
                command.Lease == 0 ? null : "either none of its roles grants the key, or the lease was granted by another user (only it or a root user may attach keys to it)"),
            KvOperation.Delete => AuthGate.Denied(user, $"delete key {KvAuth.KeyText(command.Key)}{readToo}"),
            KvOperation.Txn => AuthGate.Denied(user, "run this transaction", "it compares or reads a key the user may not read, or puts or deletes one it may not write, or puts a key on another user's lease (both branches count)"),
            KvOperation.Compact => AuthGate.Denied(user, "compact the history", "only a user with the root role may"),
            KvOperation.LeaseGrant => AuthGate.Denied(user, "grant a lease"),
            KvOperation.LeaseRevoke => AuthGate.Denied(user, $"revoke lease {command.LeaseId}", "the lease was granted by another user (only it or a root user may revoke it), or the user may not write every key attached to it (revoking deletes them)"),
            KvOperation.Auth => AuthGate.Denied(user, "change users, roles or authentication", "only a user with the root role may"),
            _ => AuthGate.Denied(user, $"apply a {command.Operation} command"),
        };
    }

    private static void Validate(KvCommand command)
    {
        if (command.Validate() is { } problem)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
        }
    }

    /// <summary>
    /// Posts a request to the owner loop and waits for its answer. The wait ends at the server's request timeout, or, if
    /// sooner, a moment before the caller's own deadline (answering just before it lets the caller read why the request
    /// failed instead of seeing only that its deadline passed), with an <see cref="OperationCanceledException"/>; and at
    /// once if the caller goes away. Either way the completion is cancelled, which marks the driver's waiter abandoned.
    /// The deadline is shared with the requests due at about the same time (<see cref="RequestDeadlines"/>): no source,
    /// timer or waiting task of the request's own.
    /// </summary>
    private async Task<T> AnswerAsync<T>(ClientInput input, TaskCompletionSource<T> completion, ServerCallContext context)
    {
        var timeout = TimeSpan.FromMilliseconds(options.RequestTimeoutMs);
        // A shared deadline fires up to BucketMs after the request's own: taken off the caller's, so that the answer
        // still goes AnswerBeforeDeadlineMs before it.
        var remaining = context.Deadline - DateTime.UtcNow - TimeSpan.FromMilliseconds(AnswerBeforeDeadlineMs + RequestDeadlines.BucketMs);
        var due = host.Deadlines.After(remaining < timeout && remaining > TimeSpan.Zero ? remaining : timeout);
        // The deadline's cancellation goes through the pool: a bucket's requests time out together, and each one's
        // error (which asks the owner loop for the peers it reaches) would otherwise run in turn on the timer's thread.
        using var onDue = due.UnsafeRegister(
            static state => ThreadPool.UnsafeQueueUserWorkItem(static completion => completion.TrySetCanceled(), (TaskCompletionSource<T>)state!, preferLocal: false),
            completion);
        using var onGone = context.CancellationToken.UnsafeRegister(static state => ((TaskCompletionSource<T>)state!).TrySetCanceled(), completion);
        await host.PostAsync(input, due, context.CancellationToken);
        return await completion.Task;
    }

    /// <summary>
    /// The error of a request not answered in time, with what the replica knows of its peers when its owner loop answers
    /// within <see cref="ErrorStatusWaitMs"/> (an overloaded one may not; the error then says only that it timed out).
    /// </summary>
    private async Task<RpcException> NoQuorumAsync(string what, CancellationToken callerGone)
    {
        HostStatus? status = null;
        using (var bound = CancellationTokenSource.CreateLinkedTokenSource(callerGone))
        {
            bound.CancelAfter(ErrorStatusWaitMs);
            try
            {
                status = await host.StatusAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                // Too busy to say; the error below leaves the peers out.
            }
        }

        var tail = what switch
        {
            "write" => " The write may still take effect; retry with the same client id and sequence to learn its outcome.",
            // A registration chosen unseen only spends a client id, which no one will use.
            "registration" => " A client id may still be assigned for it, unused; register again.",
            _ => "",
        };
        if (status is null)
        {
            return new RpcException(new Status(StatusCode.Unavailable,
                $"timed out: the {what} was not confirmed within the deadline; replica {options.Id} is too busy to report its peers.{tail}"));
        }

        var reach = $"replica {options.Id} reaches {status.LiveReplicas.Count} of {status.Replicas} replicas ({status.QuorumSize} needed for a quorum)";
        var leader = status.LeaderId is int id ? $"leader {id}" : "no leader known";
        var cause = status.LiveReplicas.Count < status.QuorumSize ? "no quorum" : "timed out";
        return new RpcException(new Status(StatusCode.Unavailable,
            $"{cause}: the {what} was not confirmed within the deadline; {reach}, {leader}.{tail}"));
    }
}
