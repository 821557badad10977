using System.Text.Json;
using Synod.Cli;
using Synod.Client;

namespace Synod.Tests.Cluster;

/// <summary>
/// Watch as a user meets it, on real replica processes: `synod watch` replays and follows changes; the client's
/// watch survives the death of the replica serving it without missing or repeating a change; a slow watcher neither
/// slows writes nor loses changes (it catches up from the history) until the history moves past it, and then it ends
/// naming the oldest revision kept.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class WatchTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Synod_watch_prints_each_change_from_a_revision_in_order_with_previous_values()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });

        var first = await client.PutAsync("svc/a", "1");
        await client.PutAsync("other", "x");
        await client.PutAsync("svc/a", "2");
        await client.Txn().Then(SynodTxn.Put("svc/b", "1"), SynodTxn.Delete("svc/a")).CommitAsync();

        var watch = await Cli("watch", "--prefix", "svc/", "--from-rev", $"{first.Revision}", "--prev-value", "--json", "--max-events", "4", "--endpoints", endpoints);

        Assert.Equal(ExitCodes.Ok, watch.ExitCode);
        var lines = watch.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(["put svc/a 1", "put svc/a 2", "put svc/b 1", "delete svc/a "], lines.Select(e =>
            $"{e.GetProperty("type").GetString()} {e.GetProperty("key").GetString()} {(e.TryGetProperty("value", out var v) ? v.GetString() : "")}"));
        var revisions = lines.Select(e => e.GetProperty("revision").GetInt64()).ToList();
        Assert.Equal(first.Revision, revisions[0]);
        Assert.Equal(revisions[2], revisions[3]);
        Assert.Equal("1", lines[1].GetProperty("prev_value").GetString());
        Assert.Equal("2", lines[3].GetProperty("prev_value").GetString());

        var text = await Cli("watch", "svc/b", "--from-rev", $"{first.Revision}", "--max-events", "1", "--endpoints", endpoints);
        Assert.Equal(["PUT", "svc/b", "1"], text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        await client.CompactAsync(revisions[2]);
        var compacted = await Cli("watch", "--prefix", "svc/", "--from-rev", $"{first.Revision}", "--max-events", "1", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.NotFound, compacted.ExitCode);
        Assert.Contains($"the oldest revision kept is {revisions[2]}", compacted.Stderr, StringComparison.Ordinal);
        var neither = await Cli("watch", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, neither.ExitCode);
    }

    [Fact]
    public async Task A_watch_goes_on_at_another_replica_when_its_replica_dies_without_missing_or_repeating_a_change()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await using var writer = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        await using var watcher = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        using var stop = new CancellationTokenSource(Patience);
        var seen = new List<SynodWatchEvent>();
        var servedBy = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int Writes = 40;
        var start = (await writer.PutAsync("start", "0")).Revision + 1;

        var reading = Task.Run(async () =>
        {
            await foreach (var change in watcher.WatchPrefixAsync("w/", new SynodWatchOptions { StartRevision = start }, stop.Token))
            {
                lock (seen)
                {
                    seen.Add(change);
                }

                servedBy.TrySetResult(change.ServedBy);
                if (seen.Count == Writes)
                {
                    all.SetResult();
                    return;
                }
            }
        });

        for (var i = 0; i < Writes; i++)
        {
            await writer.PutAsync($"w/{i % 5}", $"{i}");
            if (i == Writes / 2)
            {
                // The replica serving the watch dies mid-stream.
                cluster.Kill((int)await servedBy.Task.WaitAsync(Patience));
            }
        }

        await all.Task.WaitAsync(Patience);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading).WaitAsync(Patience).ContinueWith(_ => { });
        Assert.Equal(Enumerable.Range(0, Writes).Select(i => $"{i}"), seen.Select(e => e.ValueAsString()));
        Assert.Equal(seen.Select(e => e.Revision).Order(), seen.Select(e => e.Revision));
        Assert.Equal(Writes, seen.Select(e => e.Revision).Distinct().Count());
        Assert.True(seen.Select(e => e.ServedBy).Distinct().Count() >= 2, "the watch should have moved to another replica");
    }

    [Fact]
    public async Task A_watcher_that_stops_reading_holds_up_no_write_catches_up_from_the_history_and_ends_once_compacted_past()
    {
        await using var cluster = new ReplicaProcesses(3, "--watch-stream-bytes-max", "4096");
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await using var writer = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        await using var watcher = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        using var stop = new CancellationTokenSource(Patience);
        var value = new string('v', 16 * 1024);
        const int Writes = 300;
        var start = (await writer.PutAsync("start", "0")).Revision + 1;

        // The slow one reads its first change, then nothing while 300 changes of 16 KiB (4.8 MB) are written.
        await using (var slow = watcher.WatchPrefixAsync("s/", new SynodWatchOptions { StartRevision = start }, stop.Token).GetAsyncEnumerator(stop.Token))
        {
            await writer.PutAsync("s/0", "first");
            Assert.True(await slow.MoveNextAsync());
            for (var i = 1; i <= Writes; i++)
            {
                await writer.PutAsync($"s/{i % 7}", $"{i}:{value}");
            }

            var received = new List<long> { slow.Current.Revision };
            while (received.Count < Writes + 1 && await slow.MoveNextAsync())
            {
                received.Add(slow.Current.Revision);
                Assert.Equal($"{received.Count - 1}", slow.Current.ValueAsString()!.Split(':')[0]);
            }

            Assert.Equal(Writes + 1, received.Count);
            Assert.Equal(received.Order(), received);
        }

        // Once more, but the history is compacted past the slow watcher while it does not read: it ends, naming why.
        var from = (await writer.PutAsync("start", "1")).Revision + 1;
        await using var lagging = watcher.WatchPrefixAsync("s/", new SynodWatchOptions { StartRevision = from }, stop.Token).GetAsyncEnumerator(stop.Token);
        await writer.PutAsync("s/0", "first");
        Assert.True(await lagging.MoveNextAsync());
        long last = 0;
        for (var i = 1; i <= Writes; i++)
        {
            last = (await writer.PutAsync($"s/{i % 7}", $"{i}:{value}")).Revision;
        }

        await writer.CompactAsync(last);
        var ended = await Assert.ThrowsAsync<SynodCompactedException>(async () =>
        {
            while (await lagging.MoveNextAsync())
            {
            }
        });
        Assert.Equal(last, ended.CompactRevision);
    }

    /// <summary>
    /// From the cold review of watch: every watch request took one of the replica's client slots (InputQueueMax, 65,536)
    /// and never gave it back, so 65,600 progress requests left the replica unable to answer anything.
    /// </summary>
    [Fact]
    public async Task A_client_that_floods_a_stream_with_requests_leaves_the_replica_serving()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://" + cluster.EndpointList[0]);
        using var stop = new CancellationTokenSource(Patience);
        using var call = new Synod.Protocol.Kv.KvClient(channel).Watch(cancellationToken: stop.Token);
        await call.RequestStream.WriteAsync(new Synod.Protocol.WatchRequest { Create = new Synod.Protocol.WatchCreateRequest { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("f/"), WatchId = 1 } });
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(stop.Token))
            {
            }
        });
        for (var i = 0; i < 70_000; i++)
        {
            await call.RequestStream.WriteAsync(new Synod.Protocol.WatchRequest { Progress = new Synod.Protocol.WatchProgressRequest() });
            if (i % 7 == 0)
            {
                await call.RequestStream.WriteAsync(new Synod.Protocol.WatchRequest { Create = new Synod.Protocol.WatchCreateRequest { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("f/"), WatchId = 1 } });
            }
        }

        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [cluster.EndpointList[0]], OperationTimeout = TimeSpan.FromSeconds(10) });
        Assert.True((await client.PutAsync("after-flood", "1")).Revision > 0);
        Assert.True((await client.StatusAsync(0)).Watchers >= 1);
        await stop.CancelAsync();
        await reading.ContinueWith(_ => { });
    }

    /// <summary>
    /// From the cold review of watch: a transaction of six 1 MB deletes, watched with previous values, made one response
    /// past what a client accepts; the client failed, resumed at the same revision, and looped for ever.
    /// </summary>
    [Fact]
    public async Task A_revision_larger_than_a_response_reaches_the_watcher_whole_in_fragments()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(30) });
        var big = new string('x', 1_000_000);
        foreach (var i in Enumerable.Range(0, 6))
        {
            await client.PutAsync($"big/{i}", big);
        }

        var from = (await client.GetAsync("big/5")).ModRevision + 1;
        var deleted = await client.Txn().Then([.. Enumerable.Range(0, 6).Select(i => SynodTxn.Delete($"big/{i}"))]).CommitAsync();
        using var stop = new CancellationTokenSource(Patience);
        var seen = new List<SynodWatchEvent>();
        await foreach (var change in client.WatchPrefixAsync("big/", new SynodWatchOptions { StartRevision = from, PrevKv = true }, stop.Token))
        {
            seen.Add(change);
            if (seen.Count == 6)
            {
                break;
            }
        }

        Assert.All(seen, change => Assert.Equal((SynodWatchEventType.Delete, deleted.Revision, 1_000_000), (change.Type, change.Revision, change.PrevKv!.Value.Length)));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"big/{i}"), seen.Select(c => c.KeyAsString()));
    }

    /// <summary>
    /// From the cold review of watch: each stream was bounded, but not all of them together, so many streams that do not
    /// read could hold the replica's memory many times over. Ten streams that do not read, bounded to 1 MiB in all, hold
    /// at most that and one batch each; then each is read in turn, and each gets every change, unstarved by the others.
    /// </summary>
    [Fact]
    public async Task Streams_that_do_not_read_hold_no_more_than_the_replicas_bound_in_all_and_then_catch_up()
    {
        // Each stream alone may queue 1 MiB (ten would hold over 10 MiB); all together 1 MiB and one batch each.
        const long AllBytesMax = 1024 * 1024;
        await using var cluster = new ReplicaProcesses(3, "--watch-stream-bytes-max", $"{AllBytesMax}", "--watch-bytes-max", $"{AllBytesMax}");
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await using var writer = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://" + cluster.EndpointList[0]);
        using var stop = new CancellationTokenSource(Patience);
        var from = (await writer.PutAsync("start", "0")).Revision + 1;
        var calls = Enumerable.Range(0, 10).Select(_ => new Synod.Protocol.Kv.KvClient(channel).Watch(cancellationToken: stop.Token)).ToList();
        foreach (var call in calls)
        {
            await call.RequestStream.WriteAsync(new Synod.Protocol.WatchRequest
            {
                Create = new Synod.Protocol.WatchCreateRequest { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("g/"), StartRevision = from, WatchId = 1 },
            });
        }

        var value = new string('v', 16 * 1024);
        for (var i = 0; i < 200; i++)
        {
            await writer.PutAsync($"g/{i % 9}", value);
        }

        var queued = (await writer.StatusAsync(0)).WatchQueuedBytes;
        // Past the bound a stream gets a batch only when its queue is empty: at most the bound and one batch per stream.
        Assert.True(queued <= (ulong)AllBytesMax + (ulong)(calls.Count * 400 * 1024), $"the watch streams hold {queued} bytes, over the bound of {AllBytesMax} and a batch each");
        foreach (var call in calls)
        {
            var revisions = new List<long>();
            while (revisions.Count < 200 && await call.ResponseStream.MoveNext(stop.Token))
            {
                revisions.AddRange(call.ResponseStream.Current.Events.Select(e => e.Kv.ModRevision));
            }

            Assert.Equal(Enumerable.Range(0, 200).Select(i => from + i), revisions);
        }

        await stop.CancelAsync();
        foreach (var call in calls)
        {
            call.Dispose();
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args) => CliExitCodeTests.RunAsync(args);
}
