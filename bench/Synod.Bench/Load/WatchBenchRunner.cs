using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace Synod.Bench;

/// <summary>
/// Watch fan-out: <see cref="BenchSettings.Clients"/> watchers of one prefix, each on its own stream, while writers put
/// keys under it at <see cref="BenchSettings.WatchWriteRate"/> per second (open loop: a write is started on schedule,
/// whatever the others are doing). Each watcher's changes are checked against the writes acknowledged (every one
/// received, none twice) and timed from the write's acknowledgement to the change's arrival at the watcher (0 when the
/// change arrived first), the same way for every system.
/// </summary>
public sealed class WatchBenchRunner(BenchSettings settings, IBenchTarget target, TextWriter progress)
{
    private const long LatencyMicrosMax = 3_600_000_000;

    /// <summary>Writes in flight at most; a write due while this many are in flight is skipped and counted.</summary>
    private const int WritesInFlightMax = 1024;

    /// <summary>How long the watchers may take to be in place, and to receive the last change after the last write.</summary>
    private static readonly TimeSpan SettleMax = TimeSpan.FromSeconds(60);

    public async Task<WatchBenchResult> RunAsync(CancellationToken cancellation)
    {
        var prefix = Encoding.ASCII.GetBytes($"wb{Guid.NewGuid():N}"[..12] + "/");
        var watchers = settings.Clients;
        var received = new List<(long Revision, long At)>[watchers];
        var createdCount = 0;
        var allCreated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var watching = Enumerable.Range(0, watchers).Select(i =>
        {
            received[i] = new List<(long, long)>(capacity: 4096);
            var mine = received[i];
            return Task.Run(() => target.WatchAsync(
                i % target.Conns,
                prefix,
                () =>
                {
                    if (Interlocked.Increment(ref createdCount) == watchers)
                    {
                        allCreated.TrySetResult();
                    }
                },
                revision => { lock (mine) { mine.Add((revision, Stopwatch.GetTimestamp())); } },
                stop.Token));
        }).ToList();

        try
        {
            await allCreated.Task.WaitAsync(SettleMax, cancellation);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"only {Volatile.Read(ref createdCount)} of {watchers} watchers were in place after {SettleMax.TotalSeconds:0} s.");
        }

        progress.WriteLine($"{watchers:N0} watchers in place; writing {settings.WatchWriteRate:N0}/s for {settings.Duration.TotalSeconds:0.#} s");
        var acknowledged = new ConcurrentDictionary<long, long>();
        var writeErrors = 0L;
        var skipped = 0L;
        var inFlight = 0;
        var value = new byte[settings.ValueBytes];
        Random.Shared.NextBytes(value);
        var writes = new List<Task>();
        var total = (long)(settings.WatchWriteRate * settings.Duration.TotalSeconds);
        var started = Stopwatch.GetTimestamp();
        for (long n = 0; n < total && !cancellation.IsCancellationRequested; n++)
        {
            var due = TimeSpan.FromSeconds(n / (double)settings.WatchWriteRate) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(due, cancellation);
            }

            if (Volatile.Read(ref inFlight) >= WritesInFlightMax)
            {
                skipped++;
                continue;
            }

            Interlocked.Increment(ref inFlight);
            var key = Encoding.ASCII.GetBytes($"{Encoding.ASCII.GetString(prefix)}{n % settings.KeySpace:D6}");
            var conn = (int)(n % target.Conns);
            writes.Add(Task.Run(async () =>
            {
                try
                {
                    var revision = await target.PutRevisionAsync(conn, key, value, cancellation);
                    acknowledged[revision] = Stopwatch.GetTimestamp();
                }
                catch (Exception) when (!cancellation.IsCancellationRequested)
                {
                    Interlocked.Increment(ref writeErrors);
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            }, cancellation));
        }

        await Task.WhenAll(writes);
        var writing = Stopwatch.GetElapsedTime(started);

        // Drain: until every watcher has the last write's change, or the settle time ends.
        var last = acknowledged.IsEmpty ? 0 : acknowledged.Keys.Max();
        var drainStarted = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(drainStarted) < SettleMax && received.Any(list => LastOf(list) < last))
        {
            await Task.Delay(50, cancellation);
        }

        await stop.CancelAsync();
        await Task.WhenAll(watching.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default)));

        var latency = new LongHistogram(LatencyMicrosMax, 3);
        long delivered = 0, missing = 0, duplicates = 0;
        foreach (var list in received)
        {
            var seen = new HashSet<long>();
            lock (list)
            {
                foreach (var (revision, at) in list)
                {
                    if (!seen.Add(revision))
                    {
                        duplicates++;
                        continue;
                    }

                    if (acknowledged.TryGetValue(revision, out var ackedAt))
                    {
                        delivered++;
                        var micros = at > ackedAt ? (long)Stopwatch.GetElapsedTime(ackedAt, at).TotalMicroseconds : 0;
                        latency.RecordValue(Math.Min(LatencyMicrosMax, micros));
                    }
                }
            }

            missing += acknowledged.Keys.Count(revision => !seen.Contains(revision));
        }

        return new WatchBenchResult(watchers, acknowledged.Count, writeErrors, skipped, writing, delivered, missing, duplicates, latency);
    }

    private static long LastOf(List<(long Revision, long At)> list)
    {
        lock (list)
        {
            return list.Count == 0 ? 0 : list[^1].Revision;
        }
    }
}

/// <summary>What a watch fan-out run measured.</summary>
public sealed record WatchBenchResult(
    int Watchers, long Writes, long WriteErrors, long WritesSkipped, TimeSpan Writing, long Delivered, long Missing, long Duplicates, HistogramBase LatencyMicros)
{
    public double WritesPerSecond => Writing > TimeSpan.Zero ? Writes / Writing.TotalSeconds : 0;

    public double PercentileMs(double percentile) => LatencyMicros.TotalCount == 0 ? 0 : LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;

    public string Text() => string.Join(Environment.NewLine,
        string.Create(CultureInfo.InvariantCulture,
            $"{Writes:N0} writes in {Writing.TotalSeconds:F2} s = {WritesPerSecond:N0}/s (errors {WriteErrors:N0}, skipped {WritesSkipped:N0}); {Watchers:N0} watchers received {Delivered:N0} of {Writes * Watchers:N0} changes, missing {Missing:N0}, duplicates {Duplicates:N0}"),
        string.Create(CultureInfo.InvariantCulture,
            $"delivery ms (write acknowledged -> change received): p50 {PercentileMs(50):F2}  p90 {PercentileMs(90):F2}  p99 {PercentileMs(99):F2}  p999 {PercentileMs(99.9):F2}  max {PercentileMs(100):F2}"));

    public string Json(BenchSettings s) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["target"] = s.Target.ToString().ToLowerInvariant(),
        ["mode"] = "watch",
        ["clients"] = Watchers,
        ["conns"] = s.Conns,
        ["value_size"] = s.ValueBytes,
        ["write_rate"] = s.WatchWriteRate,
        ["writes"] = Writes,
        ["errors"] = WriteErrors + Missing + Duplicates,
        ["write_errors"] = WriteErrors,
        ["writes_skipped"] = WritesSkipped,
        ["writes_per_sec"] = Math.Round(WritesPerSecond, 1),
        ["delivered"] = Delivered,
        ["missing"] = Missing,
        ["duplicates"] = Duplicates,
        ["ops_per_sec"] = Math.Round(Writing > TimeSpan.Zero ? Delivered / Writing.TotalSeconds : 0, 1),
        ["p50_ms"] = Math.Round(PercentileMs(50), 3),
        ["p90_ms"] = Math.Round(PercentileMs(90), 3),
        ["p99_ms"] = Math.Round(PercentileMs(99), 3),
        ["p999_ms"] = Math.Round(PercentileMs(99.9), 3),
        ["max_ms"] = Math.Round(PercentileMs(100), 3),
    });
}
