using Spectre.Console;
using Spectre.Console.Rendering;

namespace Synod.Chaos;

/// <summary>
/// Shows a run while it goes: a live Spectre.Console table on a terminal (replicas up, down or paused, the leader,
/// operations per second, faults so far, time left), or, when the output is not a terminal (CI, a pipe), a plain
/// progress line every few seconds and one per phase.
/// </summary>
internal static class ChaosDisplay
{
    private const int LiveRefreshMs = 250;
    private const int PlainIntervalMs = 5_000;

    public static bool IsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public static Task ShowAsync(ChaosRunner runner, Task run) => IsInteractive ? LiveAsync(runner, run) : PlainAsync(runner, run);

    private static async Task LiveAsync(ChaosRunner runner, Task run)
    {
        var rate = new OpsRate();
        await AnsiConsole.Live(Render(runner.Progress(), 0)).AutoClear(false).StartAsync(async context =>
        {
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(LiveRefreshMs));
                var progress = runner.Progress();
                context.UpdateTarget(Render(progress, rate.Update(progress)));
                context.Refresh();
            }
        });
    }

    private static async Task PlainAsync(ChaosRunner runner, Task run)
    {
        var rate = new OpsRate();
        var lastPhase = "";
        var lastLine = 0.0;
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(LiveRefreshMs * 2));
            var progress = runner.Progress();
            var phaseChanged = progress.Phase != lastPhase;
            if (phaseChanged || (progress.Elapsed - lastLine) * 1000 >= PlainIntervalMs)
            {
                Console.WriteLine(phaseChanged && progress.TimeLeft is null ? $"[{progress.Elapsed,6:0.0} s] {progress.Phase}" : ProgressLine.Plain(progress, rate.Update(progress)));
                lastPhase = progress.Phase;
                lastLine = progress.Elapsed;
            }
        }
    }

    private static IRenderable Render(ChaosProgress p, double opsPerSecond)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("replica", "process", "heartbeat", "role", "applied slot", "note");
        foreach (var r in p.Replicas)
        {
            var process = r.State switch
            {
                ReplicaRunState.Running => "[green]running[/]",
                ReplicaRunState.Paused => "[yellow]paused[/]",
                _ => "[red]down[/]",
            };
            var note = string.Join(", ", new[] { r.Rebuilding ? "rebuilding" : null, r.CutOff ? "cut off" : null, r.Id == p.Leader ? "[bold]leader[/]" : null }.Where(n => n is not null));
            table.AddRow($"{r.Id}", process, r.Serving ? "[green]up[/]" : "[grey]-[/]", Markup.Escape(r.Role), $"{r.AppliedSlot}", note);
        }

        var left = p.TimeLeft is double t ? $"{t:0} s of faults left" : Markup.Escape(p.Phase);
        var last = p.LastEvent is { } e ? Markup.Escape($"{e.Time:0.0} s {e.Kind} r{string.Join(",", e.Replicas)}: {e.Detail}") : "-";
        return new Rows(
            new Markup($"[bold]synod chaos[/]  {p.Elapsed:0.0} s  {left}"),
            table,
            new Markup($"leader [bold]{(p.Leader is int l ? $"{l}" : "none")}[/]   [bold]{opsPerSecond:0}[/] ok/s   ok {p.Ok}  failed {p.Failed}  unknown {p.Unknown}"),
            new Markup(Markup.Escape($"faults: {ProgressLine.Faults(p.Faults)}")),
            new Markup(Markup.Escape($"network: {p.Network}")),
            new Markup($"last: {last}"));
    }
}
