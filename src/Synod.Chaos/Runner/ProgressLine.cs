namespace Synod.Chaos;

/// <summary>Text pieces shared by the live display and the plain progress lines.</summary>
internal static class ProgressLine
{
    public static string Replicas(ChaosProgress progress, ReplicaRunState state, bool serving) =>
        string.Join(",", progress.Replicas.Where(r => r.State == state && (state != ReplicaRunState.Running || r.Serving == serving)).Select(r => r.Id));

    public static string Faults(FaultCounts f) =>
        $"kills {f.Kills}, pauses {f.Pauses}, restarts {f.Restarts}, wipes {f.Wipes}, partitions {f.Partitions}" + (f.Losses > 0 ? $", losses {f.Losses}" : "") + (f.Delays > 0 ? $", delays {f.Delays}" : "") +
        (f.MajorityFaults > 0 ? $" (majority {f.MajorityFaults})" : "") + (f.UnexpectedExits > 0 ? $", UNEXPECTED EXITS {f.UnexpectedExits}" : "");

    public static string Plain(ChaosProgress p, double opsPerSecond)
    {
        var left = p.TimeLeft is double t ? $"{t:0} s left" : p.Phase;
        var up = Replicas(p, ReplicaRunState.Running, serving: true);
        var silent = Replicas(p, ReplicaRunState.Running, serving: false);
        var paused = Replicas(p, ReplicaRunState.Paused, serving: false);
        var down = Replicas(p, ReplicaRunState.Down, serving: false);
        return $"[{p.Elapsed,6:0.0} s] {left} | up {Or(up)} not answering {Or(silent)} paused {Or(paused)} down {Or(down)} | " +
            $"leader {(p.Leader is int l ? $"{l}" : "none")} | {opsPerSecond:0} ok/s | ok {p.Ok} failed {p.Failed} unknown {p.Unknown} | {Faults(p.Faults)}";
    }

    private static string Or(string ids) => ids.Length == 0 ? "-" : ids;
}
