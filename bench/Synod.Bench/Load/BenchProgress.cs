using System.Diagnostics;

namespace Synod.Bench;

/// <summary>
/// The live progress line: on a terminal one line rewritten every second, otherwise a plain line every few seconds
/// (so logs of scripted runs stay short). Always on standard error, so `--json` output stays clean.
/// </summary>
internal sealed class BenchProgress(TextWriter output, bool terminal)
{
    private static readonly TimeSpan TerminalInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    public async Task RunAsync(string phase, Func<(long Ops, long Errors)> counts, CancellationToken stop)
    {
        var interval = terminal ? TerminalInterval : PlainInterval;
        var started = Stopwatch.GetTimestamp();
        var lastOps = 0L;
        var lastAt = started;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var (ops, errors) = counts();
                var now = Stopwatch.GetTimestamp();
                var recent = (ops - lastOps) / Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds;
                var line = $"  {phase} {Stopwatch.GetElapsedTime(started, now).TotalSeconds,6:F1} s  {ops,11:N0} ops  {recent,9:N0} ops/s now  errors {errors:N0}";
                output.Write(terminal ? "\r" + line + "   " : line + Environment.NewLine);
                (lastOps, lastAt) = (ops, now);
            }
        }
        catch (OperationCanceledException)
        {
            // The phase ended.
        }

        if (terminal)
        {
            output.Write("\r" + new string(' ', 90) + "\r");
        }
    }
}
