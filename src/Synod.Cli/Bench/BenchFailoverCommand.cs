using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Synod.Bench;
using Synod.Chaos;

namespace Synod.Cli.Bench;

/// <summary>`synod bench-failover`: how long writes stop when the leader is killed under load (docs/performance.md).</summary>
public static class BenchFailoverCommand
{
    public static Command Create()
    {
        var replicas = new Option<int>("--replicas") { Description = "Replicas in the cluster it starts (odd, 3 to 9).", DefaultValueFactory = _ => 5 };
        var clients = new Option<int>("--clients") { Description = "Puts in flight at once during the whole run.", DefaultValueFactory = _ => 64 };
        var kills = new Option<int>("--kills") { Description = "How many times the leader is killed (restarted from its disk in between).", DefaultValueFactory = _ => 3 };
        var steady = new Option<string>("--steady") { Description = "Steady load before each kill (3s, 500ms).", DefaultValueFactory = _ => "3s" };
        var valueSize = new Option<int>("--value-size") { Description = "Value length in bytes.", DefaultValueFactory = _ => 256 };
        var dir = new Option<string?>("--dir") { Description = "Keep the replicas' data and logs here (default: a temporary folder, deleted afterwards)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var graceful = new Option<bool>("--graceful") { Description = "Stop the leader with SIGTERM, so that it hands leadership over first (serve --shutdown-drain), instead of SIGKILL." };
        var delay = new Option<string?>("--delay") { Description = "Run each replica in a network namespace of its own, every packet between two replicas held this long each way (1ms, 10ms; needs root): failover over a slow network." };
        var rolling = new Option<bool>("--rolling") { Description = "A rolling restart: stop (SIGTERM) and restart every replica in turn, each once the last serves again; --kills is ignored." };
        var command = new Command("bench-failover", "Start a local cluster, keep a put load on it, SIGKILL the leader and measure how long writes stop.")
        {
            replicas, clients, kills, steady, valueSize, dir, json, graceful, rolling, delay,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            FailoverSettings settings;
            try
            {
                settings = new FailoverSettings
                {
                    Replicas = parse.GetValue(replicas),
                    Clients = parse.GetValue(clients),
                    Kills = parse.GetValue(kills),
                    Steady = DurationText.Parse(parse.GetValue(steady)!),
                    ValueBytes = parse.GetValue(valueSize),
                    WorkDir = parse.GetValue(dir),
                    Json = parse.GetValue(json),
                    Graceful = parse.GetValue(graceful),
                    Rolling = parse.GetValue(rolling),
                    Delay = parse.GetValue(delay) is { } text ? DurationText.Parse(text) : null,
                    ReplicaProgram = SelfProgram.Get(),
                };
                settings.Validate();
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            return await RunAsync(settings, cancellation);
        });
        return command;
    }

    private static async Task<int> RunAsync(FailoverSettings settings, CancellationToken cancellation)
    {
        var workDir = settings.WorkDir is { } given ? Path.GetFullPath(given) : Path.Combine(Path.GetTempPath(), $"synod-bench-failover-{Guid.NewGuid():N}");
        Console.Error.WriteLine($"synod bench-failover: {settings.Replicas} replicas, {settings.Clients} clients putting {settings.ValueBytes} B values, " +
            $"{(settings.Rolling ? $"a rolling restart of all {settings.Replicas} (SIGTERM)" : settings.Graceful ? $"{settings.Kills} graceful leader stop(s) (SIGTERM)" : $"{settings.Kills} leader kill(s)")} after {settings.Steady.TotalSeconds:0.#} s of steady load each; election timeout {ElectionTimeoutText()}");
        try
        {
            var kills = await new FailoverBench(settings, Console.Error).RunAsync(workDir, cancellation);
            Console.WriteLine(settings.Json ? Json(kills) : Text(kills, settings.Graceful || settings.Rolling ? "stop" : "kill"));
            return kills.All(k => k.RecoveryMs is not null) ? ExitCodes.Ok : ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine("interrupted: every replica this run started has been stopped; no result.");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"error: {e.Message} (replica logs: {Path.Combine(workDir, "logs")})");
            return ExitCodes.Failure;
        }
        finally
        {
            if (settings.WorkDir is null)
            {
                try
                {
                    Directory.Delete(workDir, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"warning: could not delete {workDir}: {e.Message}");
                }
            }
        }
    }

    private static string ElectionTimeoutText()
    {
        var defaults = Server.ServerOptions.Defaults;
        return $"{defaults.Core.ElectionTimeoutTicks * defaults.TickMs} ms (+ up to {defaults.Core.ElectionJitterTicks * defaults.TickMs} ms jitter)";
    }

    private static string Text(IReadOnlyList<FailoverKill> kills, string verb)
    {
        var lines = kills.Select((k, i) =>
            $"{verb} {i + 1}: {(k.WasLeader ? "leader" : "follower")} {k.Leader} -> {k.NewLeader}: writes again after {(k.RecoveryMs is { } r ? FailoverBench.Format(r) + " ms" : "NO RECOVERY")}, " +
            $"longest gap {FailoverBench.Format(k.GapMs)} ms (steady load before: {FailoverBench.Format(k.SteadyGapMs)} ms), failed {k.Failed}, unknown {k.Unknown}").ToList();
        var recovered = kills.Where(k => k.RecoveryMs is not null).Select(k => k.RecoveryMs!.Value).Order().ToList();
        if (recovered.Count > 0)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"recovery ms: median {recovered[recovered.Count / 2]:F0}, max {recovered[^1]:F0}"));
        }

        return string.Join(Environment.NewLine, lines);
    }

    private static string Json(IReadOnlyList<FailoverKill> kills) => JsonSerializer.Serialize(new
    {
        kills = kills.Select(k => new { leader = k.Leader, new_leader = k.NewLeader, recovery_ms = k.RecoveryMs, gap_ms = k.GapMs, failed = k.Failed, unknown = k.Unknown, was_leader = k.WasLeader, steady_gap_ms = k.SteadyGapMs }),
        recovery_ms_max = kills.All(k => k.RecoveryMs is not null) ? kills.Max(k => k.RecoveryMs) : null,
    });
}
