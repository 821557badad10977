using Synod.Bench;

namespace Synod.Cli.Bench;

/// <summary>One `synod bench` run: reach the target, fill the keys if reads need them, warm up, measure, report.</summary>
internal static class BenchSession
{
    /// <summary>How long the first request may take before the target counts as unreachable.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellation)
    {
        var progress = Console.Error;
        var terminal = !Console.IsErrorRedirected;
        progress.WriteLine(BenchReport.Header(settings));
        await using IBenchTarget target = settings.Target == BenchTargetKind.Etcd ? new EtcdBenchTarget(settings) : new SynodBenchTarget(settings);
        try
        {
            if (await ProbeAsync(target, settings, cancellation) is { } problem)
            {
                progress.WriteLine($"error: cannot reach {settings.Target.ToString().ToLowerInvariant()} at {string.Join(",", settings.Endpoints)}: {problem}");
                progress.WriteLine(settings.Target switch
                {
                    BenchTargetKind.Synod => "Start the cluster first (./synod cluster), or pass --endpoints.",
                    BenchTargetKind.Echo => "Start the echo server first (./synod bench-echo), or pass --endpoints.",
                    _ => "Start etcd first (bench/vs-etcd.sh starts a local one), or pass --endpoints.",
                });
                return ExitCodes.Unreachable;
            }

            if (settings.Mode == BenchMode.Watch)
            {
                var watch = await new WatchBenchRunner(settings, target, progress).RunAsync(cancellation);
                Console.WriteLine(settings.Json ? watch.Json(settings) : watch.Text());
                return watch.Writes == 0 ? ExitCodes.Unavailable : ExitCodes.Ok;
            }

            var runner = new BenchRunner(settings, target, progress, terminal);
            if (settings.Mode == BenchMode.Lease)
            {
                var grant = await runner.GrantLeasesAsync(cancellation);
                progress.WriteLine($"granted {runner.Leases.Count:N0} leases of {settings.LeaseTtlSeconds} s in {grant.Elapsed.TotalSeconds:F1} s ({grant.Errors:N0} errors)");
            }

            BenchResult? fill = null;
            if (settings.NeedsFill)
            {
                fill = await runner.FillAsync(cancellation);
                progress.WriteLine($"filled {fill.Ops:N0} keys in {fill.Elapsed.TotalSeconds:F1} s ({fill.Errors:N0} errors)");
            }

            if (settings.Warmup > TimeSpan.Zero)
            {
                var warm = await runner.WarmupAsync(cancellation);
                progress.WriteLine($"warmed up: {warm.OpsPerSecond:N0} ops/s over {warm.Elapsed.TotalSeconds:F1} s, not counted");
            }

            var result = await runner.MeasureAsync(cancellation);
            var report = settings.Json ? BenchReport.Json(settings, result, fill) : BenchReport.Text(result);

            if (settings.Mode == BenchMode.Lease)
            {
                // Every lease was kept alive within its TTL (a round over them all takes far less): none may have expired.
                var live = (await target.LiveLeasesAsync(cancellation)).Intersect(runner.Leases).Count();
                report = settings.Json
                    ? $"{report[..^1]},\"leases_granted\":{runner.Leases.Count},\"leases_live\":{live}}}"
                    : $"{report}\nleases: {runner.Leases.Count:N0} granted, {live:N0} live at the end ({runner.Leases.Count - live:N0} expired without being asked to)";
            }

            Console.WriteLine(report);
            if (result.Ops == 0)
            {
                progress.WriteLine("error: no operation succeeded; see the errors above.");
                return ExitCodes.Unavailable;
            }

            return ExitCodes.Ok;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            progress.WriteLine("interrupted: no result.");
            return ExitCodes.Failure;
        }
    }

    /// <summary>One stale read, so a wrong port or a stopped cluster fails in seconds with one clear line.</summary>
    private static async Task<string?> ProbeAsync(IBenchTarget target, BenchSettings settings, CancellationToken cancellation)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(settings.OperationTimeout < ProbeTimeout ? settings.OperationTimeout : ProbeTimeout);
        try
        {
            await target.GetAsync(0, "synod-bench-probe"u8.ToArray(), stale: true, deadline.Token);
            return null;
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return $"no answer within {ProbeTimeout.TotalSeconds:0} s";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return e.Message;
        }
    }
}
