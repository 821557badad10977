using System.Runtime.CompilerServices;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Synod.Protocol;
using KvGrpcClient = Synod.Protocol.Kv.KvClient;

namespace Synod.Client;

/// <summary>What a watch reports: a put, a delete, or a progress notification (nothing in the range changed up to <see cref="SynodWatchEvent.Revision"/>).</summary>
public enum SynodWatchEventType
{
    Put,
    Delete,
    Progress,
}

/// <summary>
/// One change a watch reports, or a progress notification. <see cref="Revision"/> is the change's revision (for a
/// progress notification, the revision up to which every change was reported). For a delete, <see cref="Kv"/> holds
/// the key only. <see cref="PrevKv"/> is the key before the change when the watch asked for it (null if it was absent).
/// </summary>
public sealed record SynodWatchEvent(SynodWatchEventType Type, long Revision, SynodKeyValue? Kv, SynodKeyValue? PrevKv, uint ServedBy)
{
    public string? KeyAsString() => Kv is null ? null : Encoding.UTF8.GetString(Kv.Key.Span);

    public string? ValueAsString() => Kv is null ? null : Encoding.UTF8.GetString(Kv.Value.Span);
}

/// <summary>How to watch: from which revision (0: from the next change), with previous values, with progress notifications.</summary>
public sealed record SynodWatchOptions
{
    /// <summary>The first revision to report; 0: from the next change on.</summary>
    public long StartRevision { get; init; }

    /// <summary>Each change carries the key's entry before it.</summary>
    public bool PrevKv { get; init; }

    /// <summary>An idle watch gets progress notifications (serve --watch-progress-interval), as events of type Progress.</summary>
    public bool ProgressNotify { get; init; }

    /// <summary>
    /// Called each time a replica has put the watch in place (again, after a resume), with the first revision it will
    /// report: from then on no change is missed. Useful to know when to start writing in a test or a benchmark.
    /// </summary>
    public Action<long>? Created { get; init; }
}

public sealed partial class SynodClient
{
    /// <summary>
    /// Every change in <paramref name="range"/> from <see cref="SynodWatchOptions.StartRevision"/> on, in revision order,
    /// each once, until cancelled. The watch is served by one replica from its applied state; when that replica dies or
    /// the stream breaks, it resumes by itself on another replica from the revision after the last one reported (a
    /// progress notification counts), so nothing is missed or repeated. A watch whose next revision has been compacted
    /// (it fell behind the history window, or started before it) ends with <see cref="SynodCompactedException"/>. A replica
    /// that sends nothing for <see cref="SynodClientOptions.WatchSilenceTimeout"/> (it is cut off from the leader, or
    /// paused) is left for another the same way.
    /// </summary>
    /// <exception cref="SynodCompactedException">The next revision to report has been compacted.</exception>
    /// <exception cref="SynodInvalidArgumentException">A replica refused the watch as invalid.</exception>
    public async IAsyncEnumerable<SynodWatchEvent> WatchAsync(
        SynodRange range, SynodWatchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(range);
        options ??= new SynodWatchOptions();
        if (options.StartRevision is < 0 or > RequestRules.RevisionMax)
        {
            throw new SynodInvalidArgumentException($"The start revision is {options.StartRevision}; give 0 (from the next change) or a revision in 1..{RequestRules.RevisionMax}.");
        }

        var next = options.StartRevision;
        var index = _preferredIndex;
        for (var failures = 0; ; index = (index + 1) % _endpoints.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Each wait for the replica is cut short when it has been silent too long (a replica cut off from the leader
            // sends nothing); the time the caller spends on what it was given does not count.
            using var call = new KvGrpcClient(_channels[index].Value).Watch(
                headers: await AuthHeadersAsync(index, _time.GetUtcNow().UtcDateTime + _options.AttemptTimeout, cancellationToken), cancellationToken: cancellationToken);
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            silence.CancelAfter(_options.WatchSilenceTimeout);
            var broken = false;
            var queue = new Queue<SynodWatchEvent>();
            var fragments = new List<WatchEvent>();
            try
            {
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    Create = new WatchCreateRequest
                    {
                        From = ByteString.CopyFrom(range.From.Span),
                        To = ByteString.CopyFrom(range.To.Span),
                        StartRevision = next,
                        PrevKv = options.PrevKv,

                        // Always: the notifications are how a silent (cut off) replica is told from an idle one.
                        ProgressNotify = true,
                        WatchId = 1,
                    },
                }, silence.Token);
            }
            catch (RpcException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The watch was cancelled.", e, cancellationToken);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                broken = true;
            }

            while (!broken)
            {
                WatchResponse response;
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(_options.WatchSilenceTimeout);
                try
                {
                    if (!await call.ResponseStream.MoveNext(wait.Token))
                    {
                        break;
                    }

                    response = call.ResponseStream.Current;
                }
                catch (RpcException e) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The watch was cancelled.", e, cancellationToken);
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.Unimplemented or StatusCode.PermissionDenied or StatusCode.Unauthenticated)
                {
                    // Not a replica that went away: another would answer the same.
                    throw new SynodServerException($"replica {_endpoints[index]} refused the watch with {e.StatusCode}: {ClientText.Sentence(e.Status.Detail ?? "")}", e.StatusCode, outcomeUnknown: false, e);
                }
                catch (Exception e) when (e is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                if (response.Canceled && response.RetryElsewhere)
                {
                    break;
                }

                if (response.Canceled)
                {
                    throw response.CompactRevision > 0
                        ? new SynodCompactedException(response.CompactRevision, $"replica {_endpoints[index]} ended the watch: {ClientText.Sentence(response.CancelReason)}")
                        : response.PermissionDenied
                        ? new SynodPermissionDeniedException($"replica {_endpoints[index]} refused the watch: {ClientText.Sentence(response.CancelReason)}")
                        : new SynodInvalidArgumentException($"replica {_endpoints[index]} refused the watch: {ClientText.Sentence(response.CancelReason)}");
                }

                failures = 0;
                if (response.Created)
                {
                    next = response.StartRevision;
                    options.Created?.Invoke(next);
                    continue;
                }

                if (response.Progress)
                {
                    if (response.Revision >= next)
                    {
                        next = response.Revision + 1;
                        if (options.ProgressNotify)
                        {
                            queue.Enqueue(new SynodWatchEvent(SynodWatchEventType.Progress, response.Revision, null, null, response.ServedBy));
                        }
                    }
                }

                if (response.Fragment)
                {
                    // A revision too large for one response: nothing of it is reported until all of it has come.
                    fragments.AddRange(response.Events);
                    continue;
                }

                if (fragments.Count > 0)
                {
                    fragments.AddRange(response.Events);
                    response.Events.Clear();
                    response.Events.AddRange(fragments);
                    fragments.Clear();
                }

                foreach (var change in response.Events)
                {
                    var revision = change.Kv.ModRevision;
                    if (revision < next)
                    {
                        // Already reported (a replica never sends one, but a resumed stream must not repeat a change).
                        continue;
                    }

                    queue.Enqueue(new SynodWatchEvent(
                        change.Type == WatchEvent.Types.EventType.Delete ? SynodWatchEventType.Delete : SynodWatchEventType.Put,
                        revision, KeyValueOf(change.Kv), change.PrevKv is null ? null : KeyValueOf(change.PrevKv), response.ServedBy));
                }

                if (response.Events.Count > 0)
                {
                    next = Math.Max(next, response.Events[^1].Kv.ModRevision + 1);
                }

                while (queue.Count > 0)
                {
                    yield return queue.Dequeue();
                }
            }

            // The stream ended or broke: on from the next replica, after a pause that grows while none answers.
            var pause = RetryBackoff.Delay(failures++, _options.RetryBackoff, _options.RetryBackoffMax, Random.Shared.NextDouble());
            await Task.Delay(pause, cancellationToken);
        }
    }

    /// <summary>Every change of the keys that begin with <paramref name="prefix"/> (UTF-8); see <see cref="WatchAsync(SynodRange, SynodWatchOptions?, CancellationToken)"/>.</summary>
    public IAsyncEnumerable<SynodWatchEvent> WatchPrefixAsync(string prefix, SynodWatchOptions? options = null, CancellationToken cancellationToken = default) =>
        WatchAsync(SynodRange.Prefix(prefix), options, cancellationToken);

    /// <summary>Every change of one key (UTF-8).</summary>
    public IAsyncEnumerable<SynodWatchEvent> WatchKeyAsync(string key, SynodWatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        return WatchAsync(new SynodRange(bytes, (byte[])[.. bytes, 0]), options, cancellationToken);
    }

    private static SynodKeyValue KeyValueOf(KeyValue kv) => new(kv.Key.Memory, kv.Value.Memory, kv.CreateRevision, kv.ModRevision, kv.Version);
}
