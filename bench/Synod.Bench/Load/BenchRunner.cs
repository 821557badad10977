using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using HdrHistogram;

namespace Synod.Bench;

/// <summary>
/// The load generator: <see cref="BenchSettings.Clients"/> loops, each with one request in flight, spread over the
/// target's client instances. A loop picks a random key of the key space, issues the next operation as soon as the
/// last one is answered (closed loop), and records the latency of each success in its own histogram.
/// </summary>
/// <remarks>
/// When the duration ends no new request starts and the ones in flight finish, so every counted operation was
/// really answered; the rate is operations over the time until the last answer.
/// </remarks>
public sealed class BenchRunner(BenchSettings settings, IBenchTarget target, TextWriter progressOutput, bool terminal)
{
    /// <summary>The longest latency a histogram tracks, in microseconds; an operation's deadline is at most an hour.</summary>
    private const long LatencyMicrosMax = 3_600_000_000;

    private const int LatencySignificantDigits = 3;

    /// <summary>Distinct error messages kept for the report; the rest are only counted.</summary>
    private const int ErrorSamplesMax = 5;

    private const int ErrorMessageCharsMax = 240;

    private readonly BenchProgress _progress = new(progressOutput, terminal);
    private readonly byte[][] _keys = BuildKeys(settings.KeySpace, settings.KeyBytes);

    /// <summary>Puts every key once, so reads find values; uses the same clients.</summary>
    public Task<BenchResult> FillAsync(CancellationToken cancellation)
    {
        var next = -1L;
        return RunPhaseAsync(
            "fill",
            long.MaxValue,
            Timeout.InfiniteTimeSpan,
            (worker, random) =>
            {
                var index = Interlocked.Increment(ref next);
                return index < _keys.Length ? (OperationKind.Put, _keys[index]) : null;
            },
            cancellation);
    }

    /// <summary>Load that is not counted: connections open, caches and the JIT warm up.</summary>
    public Task<BenchResult> WarmupAsync(CancellationToken cancellation) =>
        RunPhaseAsync("warmup", long.MaxValue, settings.Warmup, PickOperation, cancellation);

    /// <summary>The measured phase, bounded by both <see cref="BenchSettings.Ops"/> and <see cref="BenchSettings.Duration"/>.</summary>
    public Task<BenchResult> MeasureAsync(CancellationToken cancellation) =>
        RunPhaseAsync("run", settings.Ops, settings.Duration, PickOperation, cancellation);

    private long[] _leases = [];
    private long _nextLease = -1;

    /// <summary>The leases kept alive in <see cref="BenchMode.Lease"/>.</summary>
    public IReadOnlyList<long> Leases => _leases;

    /// <summary>Grants <see cref="BenchSettings.Leases"/> leases with every loop, before warming up.</summary>
    public async Task<BenchResult> GrantLeasesAsync(CancellationToken cancellation)
    {
        var granted = new System.Collections.Concurrent.ConcurrentBag<long>();
        var next = -1L;
        var result = await RunPhaseAsync(
            "grant leases",
            long.MaxValue,
            Timeout.InfiniteTimeSpan,
            (worker, random) => Interlocked.Increment(ref next) < settings.Leases ? (OperationKind.Grant, []) : null,
            granted,
            cancellation);
        _leases = [.. granted];
        return result;
    }

    private (OperationKind, byte[])? PickOperation(int worker, Random random)
    {
        if (settings.Mode == BenchMode.Lock)
        {
            return (OperationKind.Lock, []);
        }

        if (settings.Mode == BenchMode.Lease)
        {
            return _leases.Length == 0 ? null : (OperationKind.KeepAlive, []);
        }

        var key = _keys[random.Next(_keys.Length)];
        var kind = settings.Mode switch
        {
            BenchMode.Put => OperationKind.Put,
            BenchMode.Get => OperationKind.Get,
            BenchMode.GetStale => OperationKind.GetStale,
            BenchMode.Cas => OperationKind.Cas,
            BenchMode.Range => OperationKind.Range,
            _ => random.NextDouble() < settings.ReadRatio ? OperationKind.Get : OperationKind.Put,
        };
        return (kind, key);
    }

    private Task<BenchResult> RunPhaseAsync(
        string phase, long opsMax, TimeSpan duration, Func<int, Random, (OperationKind Kind, byte[] Key)?> pick, CancellationToken cancellation)
        => RunPhaseAsync(phase, opsMax, duration, pick, null, cancellation);

    private async Task<BenchResult> RunPhaseAsync(
        string phase, long opsMax, TimeSpan duration, Func<int, Random, (OperationKind Kind, byte[] Key)?> pick,
        System.Collections.Concurrent.ConcurrentBag<long>? granted, CancellationToken cancellation)
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        if (duration != Timeout.InfiniteTimeSpan)
        {
            ended.CancelAfter(duration);
        }

        var counters = new PhaseCounters();
        var histograms = new LongHistogram[settings.Clients];
        using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var progress = _progress.RunAsync(phase, () => (Volatile.Read(ref counters.Ops), Volatile.Read(ref counters.Errors)), progressStop.Token);
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, settings.Clients).Select(worker => Task.Run(async () =>
        {
            histograms[worker] = new LongHistogram(LatencyMicrosMax, LatencySignificantDigits);
            await WorkerAsync(worker, opsMax, counters, histograms[worker], pick, granted, ended.Token, cancellation);
        }));
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        await progressStop.CancelAsync();
        await progress;
        cancellation.ThrowIfCancellationRequested();

        var merged = new LongHistogram(LatencyMicrosMax, LatencySignificantDigits);
        foreach (var histogram in histograms)
        {
            merged.Add(histogram);
        }

        return new BenchResult(counters.Ops, counters.Errors, elapsed, merged, counters.Samples);
    }

    private async Task WorkerAsync(
        int worker,
        long opsMax,
        PhaseCounters counters,
        LongHistogram histogram,
        Func<int, Random, (OperationKind Kind, byte[] Key)?> pick,
        System.Collections.Concurrent.ConcurrentBag<long>? granted,
        CancellationToken ended,
        CancellationToken cancellation)
    {
        var random = new Random(worker + 1);
        var value = new byte[settings.ValueBytes];
        random.NextBytes(value);
        var conn = worker % target.Conns;
        var seenModRevisions = new Dictionary<byte[], long>(ReferenceEqualityComparer.Instance);
        while (!ended.IsCancellationRequested && Interlocked.Increment(ref counters.Issued) <= opsMax)
        {
            if (pick(worker, random) is not { } operation)
            {
                return;
            }

            var began = Stopwatch.GetTimestamp();
            try
            {
                if (operation.Kind == OperationKind.Lock)
                {
                    await target.LockCycleAsync(worker, "bench-lock", cancellation);
                }
                else if (operation.Kind == OperationKind.Grant)
                {
                    granted!.Add(await target.GrantLeaseAsync(conn, settings.LeaseTtlSeconds, cancellation));
                }
                else if (operation.Kind == OperationKind.KeepAlive)
                {
                    // The loops share one round over every lease, so each is kept alive once per round.
                    var lease = _leases[(int)((ulong)Interlocked.Increment(ref _nextLease) % (ulong)_leases.Length)];
                    await target.KeepAliveAsync(conn, lease, cancellation);
                }
                else if (operation.Kind == OperationKind.Cas)
                {
                    // The keys are shared arrays, so the worker's last-seen mod revision is keyed by reference.
                    var seen = seenModRevisions.GetValueOrDefault(operation.Key);
                    seenModRevisions[operation.Key] = await target.CasAsync(conn, operation.Key, value, seen, cancellation);
                }
                else
                {
                    await (operation.Kind switch
                    {
                        OperationKind.Put => target.PutAsync(conn, operation.Key, value, cancellation),
                        OperationKind.Get => target.GetAsync(conn, operation.Key, stale: false, cancellation),
                        OperationKind.Range => target.RangeAsync(conn, operation.Key, settings.RangeKeys, cancellation),
                        _ => target.GetAsync(conn, operation.Key, stale: true, cancellation),
                    });
                }

                histogram.RecordValue(Math.Min(LatencyMicrosMax, (long)Stopwatch.GetElapsedTime(began).TotalMicroseconds));
                Interlocked.Increment(ref counters.Ops);
            }
            catch (Exception e) when (!cancellation.IsCancellationRequested)
            {
                Interlocked.Increment(ref counters.Errors);
                counters.Sample(e);
            }
        }
    }

    private static byte[][] BuildKeys(int count, int keyBytes)
    {
        // "k" then the key's number, zero-padded to the key size: distinct, printable, all the same length.
        var digits = keyBytes - 1;
        return [.. Enumerable.Range(0, count).Select(i => Encoding.ASCII.GetBytes("k" + i.ToString(new string('0', digits), System.Globalization.CultureInfo.InvariantCulture)))];
    }

    private enum OperationKind
    {
        Put,
        Get,
        GetStale,
        Cas,
        Range,
        Lock,
        Grant,
        KeepAlive,
    }

    private sealed class PhaseCounters
    {
        public long Issued;
        public long Ops;
        public long Errors;
        public readonly ConcurrentDictionary<string, long> Samples = new();

        public void Sample(Exception e)
        {
            var message = $"{e.GetType().Name}: {e.Message}";
            message = message.Length > ErrorMessageCharsMax ? message[..ErrorMessageCharsMax] + "..." : message;
            if (Samples.Count < ErrorSamplesMax || Samples.ContainsKey(message))
            {
                Samples.AddOrUpdate(message, 1, (_, n) => n + 1);
            }
        }
    }
}
