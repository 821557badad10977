using System.Globalization;
using System.Net;
using System.Text;
using Synod.Checker;

namespace Synod.Chaos;

/// <summary>
/// report.html: one self-contained page (inline SVG and CSS, no scripts, nothing fetched) with successful operations
/// per second over the run, every fault drawn where it happened (a line for kills, wipes and restarts, a band for
/// pauses and partitions), the summary, and the fault timeline as a table.
/// </summary>
public static class ChaosReport
{
    private const int ChartWidthPx = 1100;
    private const int ChartHeightPx = 260;
    private const int MarginLeftPx = 50;
    private const int MarginTopPx = 20;
    private const int MarginRightPx = 180;
    private const int FailedLaneHeightPx = 30;
    private const int AxisLabelsHeightPx = 24;
    private const int LabelRowHeightPx = 14;
    private const int LabelRows = 8;
    private const double BinSeconds = 1;

    private const int LabelsTopPx = MarginTopPx + ChartHeightPx + FailedLaneHeightPx + AxisLabelsHeightPx;

    public static string Render(ChaosResult result)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>synod chaos: seed ")
            .Append(result.Options.Seed).Append("</title>\n<style>")
            .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px}")
            .Append("table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}")
            .Append(".pass{color:#1a7f37}.fail{color:#c62828}svg text{font-size:11px;font-family:system-ui,sans-serif}")
            .Append("</style></head><body>\n");
        html.Append("<h1>synod chaos — <span class=\"").Append(result.Passed ? "pass\">PASS" : "fail\">FAIL").Append("</span></h1>\n");
        html.Append("<pre>").Append(WebUtility.HtmlEncode(ChaosSummary.Render(result))).Append("</pre>\n");
        html.Append("<h2>Successful operations per second, with every fault</h2>\n");
        AppendChart(html, result);
        html.Append("<h2>Fault timeline</h2>\n<table><tr><th>time (s)</th><th>event</th><th>replicas</th><th>majority</th><th>detail</th></tr>\n");
        foreach (var e in result.Timeline)
        {
            html.Append("<tr><td>").Append(Number(e.Time, "0.00")).Append("</td><td>").Append(e.Kind).Append("</td><td>")
                .Append(string.Join(",", e.Replicas)).Append("</td><td>").Append(e.Majority ? "yes" : "")
                .Append("</td><td>").Append(WebUtility.HtmlEncode(e.Detail)).Append("</td></tr>\n");
        }

        html.Append("</table>\n</body></html>\n");
        return html.ToString();
    }

    private static void AppendChart(StringBuilder html, ChaosResult result)
    {
        var start = result.WorkloadStart;
        var end = Math.Max(result.WorkloadEnd, start + BinSeconds);
        var bins = (int)Math.Ceiling((end - start) / BinSeconds);
        var ok = new int[bins];
        var bad = new int[bins];
        foreach (var op in result.History.Where(o => o.ClientId != 0))
        {
            var at = op.Complete ?? op.Invoke;
            var bin = (int)((at - start) / BinSeconds);
            if (bin >= 0 && bin < bins)
            {
                (op.Outcome == Outcome.Ok ? ok : bad)[bin]++;
            }
        }

        var peak = Math.Max(1, ok.Max());
        var badPeak = Math.Max(1, bad.Max());
        var height = LabelsTopPx + (LabelRows * LabelRowHeightPx) + 10;
        html.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(ChartWidthPx + MarginLeftPx + MarginRightPx)
            .Append("\" height=\"").Append(height).Append("\">\n");
        double X(double t) => MarginLeftPx + ((t - start) / (end - start) * ChartWidthPx);
        double Y(double count) => MarginTopPx + ChartHeightPx - (count / peak * ChartHeightPx);
        AppendBands(html, result.Timeline, X, start, end);
        var barWidth = ChartWidthPx / (double)bins;
        for (var i = 0; i < bins; i++)
        {
            var x = X(start + (i * BinSeconds));
            Rect(html, x, Y(ok[i]), Math.Max(1, barWidth - 1), MarginTopPx + ChartHeightPx - Y(ok[i]), "#4caf50", $"{ok[i]} ok");
            if (bad[i] > 0)
            {
                var h = Math.Max(1, bad[i] * (double)FailedLaneHeightPx / badPeak);
                Rect(html, x, MarginTopPx + ChartHeightPx + 2, Math.Max(1, barWidth - 1), h, "#ff9800", $"{bad[i]} failed or unknown");
            }
        }

        AppendAxes(html, start, end, peak, X, Y);
        AppendMarks(html, result.Timeline, X);
        html.Append("</svg>\n<p>Green bars: operations completed successfully per second. Orange, hanging below the axis: operations that ")
            .Append("failed or whose outcome is unknown (scaled to their own peak, ").Append(badPeak).Append(" in one second). Bands: grey = a replica paused, purple = a partition (darker when a majority was affected). ")
            .Append("Lines: red = kill, dark red = wipe, green = restart, blue dots = a new leader.</p>\n");
    }

    private static void AppendBands(StringBuilder html, IReadOnlyList<FaultEvent> timeline, Func<double, double> x, double start, double end)
    {
        foreach (var (e, index) in timeline.Select((e, i) => (e, i)))
        {
            double? until = e.Kind switch
            {
                FaultTimeline.Pause => timeline.Skip(index).FirstOrDefault(r => r.Kind == FaultTimeline.Resume && r.Replicas.Intersect(e.Replicas).Any())?.Time,
                FaultTimeline.Partition or FaultTimeline.Loss or FaultTimeline.Delay => timeline.Skip(index).FirstOrDefault(r => r.Kind == FaultTimeline.Heal)?.Time,
                _ => null,
            };
            if (until is null && e.Kind is not (FaultTimeline.Pause or FaultTimeline.Partition or FaultTimeline.Loss or FaultTimeline.Delay))
            {
                continue;
            }

            var to = Math.Clamp(until ?? end, start, end);
            var from = Math.Clamp(e.Time, start, end);
            var colour = e.Kind switch { FaultTimeline.Pause => "#9e9e9e", FaultTimeline.Loss => "#ff8f00", FaultTimeline.Delay => "#26a69a", _ => "#7e57c2" };
            var opacity = e.Majority ? "0.35" : "0.15";
            html.Append("<rect x=\"").Append(Number(x(from))).Append("\" y=\"").Append(MarginTopPx).Append("\" width=\"")
                .Append(Number(Math.Max(1, x(to) - x(from)))).Append("\" height=\"").Append(ChartHeightPx)
                .Append("\" fill=\"").Append(colour).Append("\" fill-opacity=\"").Append(opacity).Append("\"><title>")
                .Append(WebUtility.HtmlEncode($"{e.Kind} r{string.Join(",", e.Replicas)}: {e.Detail}")).Append("</title></rect>\n");
        }
    }

    private static void AppendMarks(StringBuilder html, IReadOnlyList<FaultEvent> timeline, Func<double, double> x)
    {
        var row = 0;
        foreach (var e in timeline)
        {
            var colour = e.Kind switch
            {
                FaultTimeline.Kill => "#e53935",
                FaultTimeline.Wipe => "#8b0000",
                FaultTimeline.Restart => "#2e7d32",
                FaultTimeline.Exit => "#000000",
                FaultTimeline.Leader => "#1e88e5",
                FaultTimeline.Pause => "#616161",
                FaultTimeline.Partition => "#5e35b1",
                FaultTimeline.Loss => "#ef6c00",
                FaultTimeline.Delay => "#00897b",
                _ => null,
            };
            if (colour is null)
            {
                continue;
            }

            var at = x(e.Time);
            if (e.Kind == FaultTimeline.Leader)
            {
                html.Append("<circle cx=\"").Append(Number(at)).Append("\" cy=\"").Append(MarginTopPx - 8).Append("\" r=\"3\" fill=\"").Append(colour)
                    .Append("\"><title>").Append(WebUtility.HtmlEncode($"{Number(e.Time, "0.00")} s: {e.Detail}")).Append("</title></circle>\n");
                continue;
            }

            var labelY = LabelsTopPx + 10 + (row++ % LabelRows * LabelRowHeightPx);
            html.Append("<line x1=\"").Append(Number(at)).Append("\" x2=\"").Append(Number(at)).Append("\" y1=\"").Append(MarginTopPx)
                .Append("\" y2=\"").Append(labelY - 10).Append("\" stroke=\"").Append(colour).Append("\" stroke-width=\"").Append(e.Majority ? "2.5" : "1")
                .Append("\" stroke-dasharray=\"").Append(e.Kind == FaultTimeline.Restart ? "3,3" : "none").Append("\"/>\n");
            html.Append("<text x=\"").Append(Number(at + 2)).Append("\" y=\"").Append(labelY).Append("\" fill=\"").Append(colour).Append("\">")
                .Append(WebUtility.HtmlEncode($"{e.Kind} r{string.Join(",", e.Replicas)}{(e.Majority ? " (majority)" : "")}"))
                .Append("<title>").Append(WebUtility.HtmlEncode($"{Number(e.Time, "0.00")} s: {e.Detail}")).Append("</title></text>\n");
        }
    }

    private static void AppendAxes(StringBuilder html, double start, double end, int peak, Func<double, double> x, Func<double, double> y)
    {
        var baseline = MarginTopPx + ChartHeightPx;
        html.Append("<line x1=\"").Append(MarginLeftPx).Append("\" x2=\"").Append(MarginLeftPx + ChartWidthPx).Append("\" y1=\"").Append(baseline)
            .Append("\" y2=\"").Append(baseline).Append("\" stroke=\"#333\"/>\n");
        var step = Math.Max(1, Math.Ceiling((end - start) / 20));
        for (var t = 0.0; t <= end - start; t += step)
        {
            html.Append("<text x=\"").Append(Number(x(start + t) - 6)).Append("\" y=\"").Append(baseline + FailedLaneHeightPx + 16).Append("\" fill=\"#333\">")
                .Append(Number(start + t, "0")).Append("</text>\n");
        }

        foreach (var fraction in new[] { 0, 0.5, 1 })
        {
            var count = peak * fraction;
            html.Append("<text x=\"4\" y=\"").Append(Number(y(count) + 4)).Append("\" fill=\"#333\">").Append(Number(count, "0")).Append("/s</text>\n");
        }
    }

    private static void Rect(StringBuilder html, double x, double y, double width, double height, string fill, string title) =>
        html.Append("<rect x=\"").Append(Number(x)).Append("\" y=\"").Append(Number(y)).Append("\" width=\"").Append(Number(width))
            .Append("\" height=\"").Append(Number(height)).Append("\" fill=\"").Append(fill).Append("\"><title>").Append(title).Append("</title></rect>\n");

    private static string Number(double value, string format = "0.#") => value.ToString(format, CultureInfo.InvariantCulture);
}
