using Grpc.Core;
using Synod.Protocol;
using KvGrpcClient = Synod.Protocol.Kv.KvClient;

namespace Synod.Client;

/// <summary>The retry loop: failover between replicas, backoff, deadlines, and what each failure means.</summary>
public sealed partial class SynodClient
{
    /// <summary>
    /// Runs one write under a rented exactly-once session and gives the session back with how the write ended,
    /// which decides whether its client id is kept (see <see cref="WriteSession.After"/>). A registration, when no
    /// session is idle, and the write share the operation's one deadline. A write refused because its session expired
    /// (an idle session evicted meanwhile) and known not to have been applied is sent once more under a new id.
    /// </summary>
    private async Task<TResult> WriteAsync<TResponse, TResult>(
        string operation,
        SynodCallOptions? options,
        byte[] key,
        Func<WriteSession, KvGrpcClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Func<TResponse, WriteSession, string, TResult> result,
        CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp() + (long)(OperationTimeout(options).TotalSeconds * _time.TimestampFrequency);
        for (var sessionsTried = 1; ; sessionsTried++)
        {
            // After a session was found gone, a new id: the idle ones may be gone too (evicted, or registered before
            // authentication was turned on, which makes them no user's).
            var session = (sessionsTried == 1 ? _sessions.TryRent() : null) ?? await RegisterAsync(operation, Remaining(options, deadline), cancellationToken);
            var end = WriteEnd.NotAcknowledged;
            try
            {
                var history = new AttemptHistory(operation, isWrite: true);
                var (response, endpoint) = await CallAsync(
                    history, Remaining(options, deadline), key, (client, callOptions) => call(session, client, callOptions), cancellationToken);
                end = WriteEnd.Acknowledged;
                return result(response, session, endpoint);
            }
            catch (SynodSessionExpiredException e) when (!e.OutcomeUnknown && sessionsTried < WriteSessionsTriedMax)
            {
                end = WriteEnd.SessionExpired;
            }
            catch (SynodSessionExpiredException)
            {
                end = WriteEnd.SessionExpired;
                throw;
            }
            finally
            {
                _sessions.Return(session, end);
            }
        }
    }

    /// <summary>Sessions one write may use: a second one only when the first had expired and nothing was applied under it.</summary>
    private const int WriteSessionsTriedMax = 2;

    /// <summary>The call options with what is left of the operation's deadline (at least a millisecond, so the call can say why it failed).</summary>
    private SynodCallOptions Remaining(SynodCallOptions? options, long deadline)
    {
        var left = TimeSpan.FromSeconds((double)(deadline - _time.GetTimestamp()) / _time.TimestampFrequency);
        return (options ?? new SynodCallOptions()) with { OperationTimeout = left > TimeSpan.FromMilliseconds(1) ? left : TimeSpan.FromMilliseconds(1) };
    }

    /// <summary>
    /// Asks the replicas for a new client id (a Register chosen through the log), under the write's own call options.
    /// Retrying a registration is safe (a second one only spends an id), so it is retried like a read, and a failure
    /// leaves the write unsent: its outcome is known, nothing was applied.
    /// </summary>
    private async Task<WriteSession> RegisterAsync(string operation, SynodCallOptions? options, CancellationToken cancellationToken)
    {
        var request = new RegisterRequest { Nonce = WriteSessionPool.RandomNonce() };
        var history = new AttemptHistory($"registration of a client id for the {operation} (the {operation} was not sent)", isWrite: false);
        var (response, endpoint) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.RegisterAsync(request, callOptions), cancellationToken);
        if (response.ClientId == 0)
        {
            throw new SynodServerException(
                $"replica {endpoint} answered the registration with client id 0, which is never assigned; the {operation} was not sent.",
                Grpc.Core.StatusCode.Internal, outcomeUnknown: false);
        }

        return WriteSession.Registered(response.ClientId);
    }

    /// <summary>
    /// Sends one request until a replica answers with a result or the operation's deadline passes. Each attempt
    /// has its own deadline; after a retryable failure the next attempt goes to the next replica (or the same
    /// one when pinned) after a growing pause. A write is resent unchanged, same client id and sequence.
    /// </summary>
    private async Task<(TResponse Response, string Endpoint)> CallAsync<TResponse>(
        AttemptHistory history,
        SynodCallOptions? options,
        ReadOnlyMemory<byte> key,
        Func<KvGrpcClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var pinned = PinnedIndex(options);
        var operationTimeout = OperationTimeout(options);
        var started = _time.GetTimestamp();
        var index = pinned ?? Volatile.Read(ref _preferredIndex);
        int? leaderHint = null;
        var quickMoves = 0;
        for (var retry = 0; ; retry++)
        {
            var movesAtOnce = false;
            var remaining = operationTimeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw history.Exhausted(_time.GetElapsedTime(started));
            }

            var attemptTimeout = remaining < _options.AttemptTimeout ? remaining : _options.AttemptTimeout;
            var attemptDeadline = _time.GetUtcNow().UtcDateTime + attemptTimeout;
            try
            {
                var callOptions = new CallOptions(
                    headers: await AuthHeadersAsync(index, attemptDeadline, cancellationToken), deadline: attemptDeadline, cancellationToken: cancellationToken);
                var response = await call(new KvGrpcClient(_channels[index].Value), callOptions);
                Volatile.Write(ref _connected[index], true);
                if (pinned is null)
                {
                    Volatile.Write(ref _preferredIndex, NextPreferred(index, response as ILeaderHint));
                }

                return (response, _endpoints[index]);
            }
            catch (RpcException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(
                    $"The {history.Operation} was cancelled by the caller{(history.IsWrite ? "; its outcome is unknown" : "")}.", e, cancellationToken);
            }
            catch (SynodPermissionDeniedException e) when (history.IsWrite && history.OutcomeUnknown)
            {
                // Only signing in throws it here: this attempt was never sent, but an earlier one may have been applied.
                throw new SynodPermissionDeniedException($"{e.Message} An earlier attempt of the {history.Operation} may still take effect: its outcome is unknown.", e);
            }
            catch (RpcException e)
            {
                // Only a deadline can pass without a connection ever made: any other failure that is not a connect
                // failure came from a replica or a link that was up. A channel connected now may have sent the request.
                var connected = Volatile.Read(ref _connected[index]) || _channels[index].Value.State == ConnectivityState.Ready ||
                    (e.StatusCode is not (StatusCode.DeadlineExceeded or StatusCode.Cancelled) && !RpcFailure.IsConnectFailure(e));
                Volatile.Write(ref _connected[index], connected);
                if (e.StatusCode == StatusCode.Unauthenticated)
                {
                    ForgetToken();
                }

                if (e.StatusCode == StatusCode.PermissionDenied && SignedInWithoutToken())
                {
                    // Authentication was turned on since this client found it off: sign in at the next attempt (after
                    // the usual pause, so a replica that still says it is off does not make this spin).
                    ForgetToken();
                    history.Record(_endpoints[index], RpcFailureKind.Refused, ClientText.Sentence(e.Status.Detail ?? ""));
                }
                else
                {
                    RecordOrThrow(e, history, _endpoints[index], pinned is not null, attemptTimeout, key, _time.GetElapsedTime(started), !connected);
                }

                leaderHint = LeaderIndexOf(e);
                if (leaderHint is null && options?.LeaveForUnknownLeader == true && NamedLeader(e) is int elsewhere)
                {
                    throw new LeaderElsewhereException(elsewhere, history.OutcomeUnknown, history.Exhausted(_time.GetElapsedTime(started)));
                }

                // Another replica may well serve what this one could not (it stopped, its port closed after a graceful
                // stop, it was cut off): the next endpoint is tried at once, up to once per other endpoint in the
                // operation; after that every retry waits, so that a cluster that is all down or leaderless is not asked
                // in a spin. Where the next attempt goes is unchanged, and so is what an attempt's failure says about a
                // write's outcome.
                // Only where the replica gave no answer of its own (no connection, or the transport failed: a stopped
                // port, a GOAWAY): a replica that answered "no leader" or "too busy" is followed by the usual pause, so
                // that an election or an overload does not draw one request per replica from every operation.
                movesAtOnce = pinned is null && leaderHint is null && (RpcFailure.IsConnectFailure(e) || e.Status.DebugException is not null) &&
                    quickMoves < _endpoints.Length - 1;
                if (movesAtOnce)
                {
                    quickMoves++;
                }
            }

            index = pinned ?? leaderHint ?? (index + 1) % _endpoints.Length;
            leaderHint = null;
            // Moves made at once do not grow the pause: the first real pause is the first backoff step.
            var pause = movesAtOnce ? TimeSpan.Zero : RetryBackoff.Delay(retry - quickMoves, _options.RetryBackoff, _options.RetryBackoffMax, Random.Shared.NextDouble());
            remaining = operationTimeout - _time.GetElapsedTime(started);
            if (remaining > TimeSpan.Zero && pause > TimeSpan.Zero)
            {
                await Task.Delay(pause < remaining ? pause : remaining, _time, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Where the next operation starts: the replica that just answered, unless it named another replica as leader.
    /// Then the leader's endpoint if the client has heard from it before (its id is learned from its own answers),
    /// else the next endpoint, so that a few operations find the leader. A follower serves everything too, but
    /// forwards writes and read-index requests to the leader: an extra hop for every operation.
    /// </summary>
    private int NextPreferred(int index, ILeaderHint? hint)
    {
        if (hint is null || hint.ServedBy == 0)
        {
            return index;
        }

        Volatile.Write(ref _servedByAt[index], hint.ServedBy);
        if (hint.LeaderId == 0 || hint.LeaderId == hint.ServedBy)
        {
            return index;
        }

        for (var i = 0; i < _servedByAt.Length; i++)
        {
            if (Volatile.Read(ref _servedByAt[i]) == hint.LeaderId)
            {
                return i;
            }
        }

        return (index + 1) % _endpoints.Length;
    }

    /// <summary>The trailer of a write refused because its lease does not exist (the server's KvService.LeaseNotFoundTrailer).</summary>
    private const string LeaseNotFoundTrailer = "synod-lease-not-found";

    /// <summary>The trailer of a write refused by the write quota (the server's KvService.NoSpaceTrailer).</summary>
    private const string NoSpaceTrailer = "synod-no-space";

    /// <summary>The trailer of a refusal that says the attempt was not proposed (the server's KvService.NotProposedTrailer).</summary>
    private const string NotProposedTrailer = "synod-not-proposed";

    /// <summary>The trailer naming the leader to ask, on a lease call refused by a replica that does not measure leases.</summary>
    private const string LeaderTrailer = "synod-leader";

    /// <summary>The leader a refusal named (its synod-leader trailer), or null.</summary>
    private static int? NamedLeader(RpcException e) =>
        e.Trailers.GetValue(LeaderTrailer) is { } text && uint.TryParse(text, out var leader) && leader is > 0 and <= int.MaxValue ? (int)leader : null;

    /// <summary>The endpoint of the leader a refusal named, if the client has heard from it (by id) before.</summary>
    private int? LeaderIndexOf(RpcException e)
    {
        if (NamedLeader(e) is not int leader)
        {
            return null;
        }

        for (var i = 0; i < _servedByAt.Length; i++)
        {
            if (Volatile.Read(ref _servedByAt[i]) == leader)
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Records a failure that allows a retry; throws the specific exception for one that does not.</summary>
    private static void RecordOrThrow(
        RpcException e, AttemptHistory history, string endpoint, bool pinned, TimeSpan attemptTimeout, ReadOnlyMemory<byte> key, TimeSpan elapsed,
        bool neverConnected)
    {
        var kind = RpcFailure.Classify(e);
        var detail = ClientText.Sentence(e.Status.Detail ?? "");
        switch (kind)
        {
            case RpcFailureKind.InvalidArgument when e.StatusCode == StatusCode.AlreadyExists:
                throw new SynodAlreadyExistsException($"replica {endpoint} refused the {history.Operation}: {detail}", e);
            case RpcFailureKind.InvalidArgument:
                throw new SynodInvalidArgumentException($"replica {endpoint} refused the {history.Operation}: {detail}", e);
            case RpcFailureKind.NotFound when !history.IsWrite:
                throw new SynodNotFoundException(key, detail.Length > 0 ? detail : "key not found.", e);
            case RpcFailureKind.NotFound when history.IsWrite && e.Trailers.Get(LeaseNotFoundTrailer) is not null:
                throw new SynodLeaseNotFoundException($"replica {endpoint} refused the {history.Operation}: {detail}", e);
            case RpcFailureKind.NotFound:
                // A write answered NOT_FOUND was applied and changed nothing (an auth change naming a user or role that is gone).
                throw new SynodNotFoundException(key, $"replica {endpoint} refused the {history.Operation}: {detail}", e);
            case RpcFailureKind.Compacted:
                throw new SynodCompactedException(RpcFailure.CompactRevision(e), $"replica {endpoint} refused the {history.Operation}: {detail}", e);
            case RpcFailureKind.PermissionDenied when history.IsWrite && history.OutcomeUnknown:
                // A refusal before the log (a request naming no user, right after authentication was turned on) says
                // nothing of an earlier attempt that went unanswered: it may have been chosen before the change.
                throw new SynodPermissionDeniedException($"replica {endpoint} refused the {history.Operation}: {detail} An earlier attempt of the {history.Operation} may still take effect: its outcome is unknown.", e);
            case RpcFailureKind.PermissionDenied:
                throw new SynodPermissionDeniedException($"replica {endpoint} refused the {history.Operation}: {detail}", e);
            case RpcFailureKind.Refused when history.IsWrite && e.StatusCode == StatusCode.ResourceExhausted && e.Trailers.Get(NoSpaceTrailer) is not null:
                // Judged before the log, like a refusal naming no user: an earlier attempt that went unanswered may still be chosen.
                throw new SynodNoSpaceException(
                    $"replica {endpoint} refused the {history.Operation}: {detail}" + (history.OutcomeUnknown ? $" An earlier attempt of the {history.Operation} may still take effect: its outcome is unknown." : ""),
                    history.OutcomeUnknown,
                    e);
            case RpcFailureKind.SessionExpired when history.IsWrite:
                throw SessionExpired(e, history, endpoint, detail);
            case RpcFailureKind.ConnectFailed or RpcFailureKind.Unanswered or RpcFailureKind.Refused or RpcFailureKind.Unauthenticated:
                var text = kind == RpcFailureKind.Refused ? detail : RpcFailure.Describe(e, attemptTimeout);
                history.Record(endpoint, kind, text, neverConnected, notProposed: kind == RpcFailureKind.Refused && e.Trailers.Get(NotProposedTrailer) is not null);
                if (pinned && kind == RpcFailureKind.ConnectFailed)
                {
                    throw history.PinnedUnreachable(endpoint, text, elapsed);
                }

                return;
            default:
                var tail = history.IsWrite ? " Outcome unknown: the write may have taken effect." : "";
                throw new SynodServerException(
                    $"replica {endpoint} answered the {history.Operation} with {e.StatusCode}: {detail}{tail}", e.StatusCode, history.IsWrite, e);
        }
    }

    private static SynodSessionExpiredException SessionExpired(RpcException e, AttemptHistory history, string endpoint, string detail)
    {
        var outcome = history.OutcomeUnknown
            ? " An earlier attempt of this write went unanswered and may have taken effect before the session vanished: outcome unknown."
            : " The write was not applied; retrying it is safe.";
        return new SynodSessionExpiredException(
            $"replica {endpoint} refused the {history.Operation} because the client session is gone: {detail}"
            + $" The client has already dropped that client id and uses a new one from the next write on.{outcome}",
            history.OutcomeUnknown,
            e);
    }

    private int? PinnedIndex(SynodCallOptions? options)
    {
        if (options?.PinnedEndpointIndex is not { } index)
        {
            return null;
        }

        if (index < 0 || index >= _endpoints.Length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), index, $"PinnedEndpointIndex {index} is outside the endpoint list (0 to {_endpoints.Length - 1}).");
        }

        return index;
    }

    private TimeSpan OperationTimeout(SynodCallOptions? options)
    {
        var timeout = options?.OperationTimeout ?? _options.OperationTimeout;
        if (timeout <= TimeSpan.Zero || timeout > SynodClientOptions.OperationTimeoutMax)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), timeout, $"OperationTimeout must be positive and at most {SynodClientOptions.OperationTimeoutMax} (OperationTimeoutMax).");
        }

        return timeout;
    }
}
