using System.Globalization;
using System.Text.Json;

namespace Synod.Bench;

/// <summary>The result as text for a person, or as one JSON object for scripts (bench/vs-etcd.sh reads it).</summary>
public static class BenchReport
{
    private static readonly double[] Percentiles = [50, 90, 99, 99.9];

    public static string Header(BenchSettings s) =>
        $"synod bench: {s.Target.ToString().ToLowerInvariant()} at {string.Join(",", s.Endpoints)} ({s.EndpointsSource}), " +
        $"{ModeName(s.Mode)}{(s.Mode == BenchMode.Mixed ? $" ({s.ReadRatio:P0} reads)" : "")}, {s.Clients} clients over {s.Conns} connection(s), " +
        $"{s.KeyBytes} B keys, {s.ValueBytes} B values, {s.KeySpace:N0} keys, for {s.Duration.TotalSeconds:0.#} s or {s.Ops:N0} ops";

    public static string Text(BenchResult r)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{r.Ops:N0} ops in {r.Elapsed.TotalSeconds:F2} s = {r.OpsPerSecond:N0} ops/s, errors {r.Errors:N0}"),
            string.Create(CultureInfo.InvariantCulture, $"latency ms: p50 {r.PercentileMs(50):F2}  p90 {r.PercentileMs(90):F2}  p99 {r.PercentileMs(99):F2}  p999 {r.PercentileMs(99.9):F2}  max {r.MaxMs:F2}"),
        };
        lines.AddRange(r.ErrorSamples.Select(e => $"  error x{e.Value:N0}: {e.Key}"));
        return string.Join(Environment.NewLine, lines);
    }

    /// <param name="fill">The fill's own result when the run began with one: its keys, errors and seconds, apart from the
    /// measured run's (a fill refused for space shows there, not in the run).</param>
    public static string Json(BenchSettings s, BenchResult r, BenchResult? fill = null)
    {
        var report = new Dictionary<string, object>
        {
            ["target"] = s.Target.ToString().ToLowerInvariant(),
            ["mode"] = ModeName(s.Mode),
            ["clients"] = s.Clients,
            ["conns"] = s.Conns,
            ["key_size"] = s.KeyBytes,
            ["value_size"] = s.ValueBytes,
            ["key_space"] = s.KeySpace,
            ["read_ratio"] = s.Mode == BenchMode.Mixed ? s.ReadRatio : s.Mode == BenchMode.Put ? 0 : 1,
            ["ops"] = r.Ops,
            ["errors"] = r.Errors,
            ["seconds"] = Math.Round(r.Elapsed.TotalSeconds, 3),
            ["ops_per_sec"] = Math.Round(r.OpsPerSecond, 1),
            ["max_ms"] = Math.Round(r.MaxMs, 3),
            ["error_samples"] = r.ErrorSamples,
        };
        foreach (var p in Percentiles)
        {
            report[$"p{p.ToString(CultureInfo.InvariantCulture).Replace(".", "", StringComparison.Ordinal)}_ms"] = Math.Round(r.PercentileMs(p), 3);
        }

        if (fill is not null)
        {
            report["fill_keys"] = fill.Ops;
            report["fill_errors"] = fill.Errors;
            report["fill_seconds"] = Math.Round(fill.Elapsed.TotalSeconds, 1);
        }

        return JsonSerializer.Serialize(report);
    }

    public static string ModeName(BenchMode mode) => mode switch
    {
        BenchMode.Put => "put",
        BenchMode.Get => "get",
        BenchMode.GetStale => "get-stale",
        BenchMode.Cas => "cas",
        BenchMode.Range => "range",
        BenchMode.Watch => "watch",
        BenchMode.Lock => "lock",
        BenchMode.Lease => "lease",
        _ => "mixed",
    };
}
