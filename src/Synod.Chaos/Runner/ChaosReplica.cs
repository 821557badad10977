using System.Diagnostics;
using System.Globalization;

namespace Synod.Chaos;

/// <summary>
/// One replica of a chaos run: its `synod serve` process (started, killed, paused and resumed only through this
/// object, so the runner never signals a process it did not start), its data directory, and its log file, which
/// collects the output of every life of the replica.
/// </summary>
internal sealed class ChaosReplica : IDisposable
{
    /// <summary>How long to wait for a process to be gone after SIGKILL; the kernel reaps it at once, so this is generous.</summary>
    private const int KillWaitMs = 5_000;

    private readonly Lock _gate = new();
    private readonly StreamWriter _log;
    private readonly List<Process> _lives = [];
    private readonly IReadOnlyList<string> _peerArgs;
    private Process? _process;
    private ReplicaRunState _state = ReplicaRunState.Down;
    private bool _logClosed;

    /// <param name="peerArgs">The `synod serve` flags that give it its peer certificate, key and CA.</param>
    public ChaosReplica(int id, string listenEndpoint, string peers, string dataDir, string logPath, IReadOnlyList<string> peerArgs)
    {
        Id = id;
        _peerArgs = peerArgs;
        ListenEndpoint = listenEndpoint;
        Peers = peers;
        DataDir = dataDir;
        LogPath = logPath;
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        _log = new StreamWriter(logPath, append: false) { AutoFlush = true };
    }

    public int Id { get; }

    /// <summary>Where clients reach this replica directly (peers reach it through the link proxies).</summary>
    public string ListenEndpoint { get; }

    public string Peers { get; }

    public string DataDir { get; }

    public string LogPath { get; }

    /// <summary>
    /// True from a wipe until the replica, started with --rebuild-from-peers, says it votes again. While true it
    /// counts against the replicas that may be rebuilding at once (docs/protocol.md, I14).
    /// </summary>
    public bool RebuildPending { get; set; }

    /// <summary>When (run clock) a killed or wiped replica is due to start again; null when none is planned.</summary>
    public double? RestartAt { get; set; }

    /// <summary>When (run clock) a paused replica is due to continue.</summary>
    public double? ResumeAt { get; set; }

    public ReplicaRunState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public int? ProcessId
    {
        get
        {
            lock (_gate)
            {
                return _process?.Id;
            }
        }
    }

    /// <summary>Starts `synod serve` for this replica; <paramref name="modeArgs"/> is --new-cluster, --rebuild-from-peers or nothing.</summary>
    public int Start(IReadOnlyList<string> program, int tickMs, IEnumerable<string> modeArgs, double now)
    {
        var start = new ProcessStartInfo(program[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        var args = program.Skip(1).Concat(
        [
            "serve", "--id", Id.ToString(CultureInfo.InvariantCulture), "--peers", Peers, "--listen", ListenEndpoint,
            "--data-dir", DataDir, "--tick-ms", tickMs.ToString(CultureInfo.InvariantCulture),
        ]).Concat(_peerArgs).Concat(modeArgs).ToList();
        args.ForEach(start.ArgumentList.Add);
        lock (_gate)
        {
            if (_state != ReplicaRunState.Down)
            {
                throw new InvalidOperationException($"replica {Id} is {_state}; only a replica that is down can be started.");
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start replica {Id} ({program[0]}).");
            process.OutputDataReceived += (_, e) => WriteLog(e.Data);
            process.ErrorDataReceived += (_, e) => WriteLog(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _lives.Add(process);
            _process = process;
            _state = ReplicaRunState.Running;
            WriteLog($"=== chaos t={now:0.000} s ({Wall}): started pid {process.Id}: {string.Join(' ', args.Skip(program.Count - 1))}");
            return process.Id;
        }
    }

    /// <summary>SIGKILL; returns the process id killed, or null when the replica was already down.</summary>
    public int? Kill(double now, string why)
    {
        lock (_gate)
        {
            if (_process is not { } process || _state == ReplicaRunState.Down)
            {
                return null;
            }

            if (!process.HasExited)
            {
                if (OperatingSystem.IsWindows())
                {
                    process.Kill();
                }
                else
                {
                    ProcessSignals.Kill(process.Id);
                }

                process.WaitForExit(KillWaitMs);
            }

            _state = ReplicaRunState.Down;
            WriteLog($"=== chaos t={now:0.000} s ({Wall}): SIGKILL pid {process.Id} ({why})");
            return process.Id;
        }
    }

    public bool Pause(double now)
    {
        lock (_gate)
        {
            if (_process is not { HasExited: false } process || _state != ReplicaRunState.Running || !ProcessSignals.Stop(process.Id))
            {
                return false;
            }

            _state = ReplicaRunState.Paused;
            WriteLog($"=== chaos t={now:0.000} s ({Wall}): SIGSTOP pid {process.Id}");
            return true;
        }
    }

    public bool Resume(double now)
    {
        lock (_gate)
        {
            if (_process is not { } process || _state != ReplicaRunState.Paused)
            {
                return false;
            }

            if (!process.HasExited)
            {
                ProcessSignals.Continue(process.Id);
            }

            _state = ReplicaRunState.Running;
            WriteLog($"=== chaos t={now:0.000} s ({Wall}): SIGCONT pid {process.Id}");
            return true;
        }
    }

    /// <summary>True once, when a process the runner did not kill has exited (an assertion, a crash, a refusal to start).</summary>
    public bool ExitedOnItsOwn(out int exitCode)
    {
        lock (_gate)
        {
            exitCode = 0;
            if (_process is not { HasExited: true } process || _state == ReplicaRunState.Down)
            {
                return false;
            }

            exitCode = process.ExitCode;
            _state = ReplicaRunState.Down;
            return true;
        }
    }

    /// <summary>Deletes the data directory, as a lost disk would; the replica must be down.</summary>
    public void WipeData()
    {
        if (State != ReplicaRunState.Down)
        {
            throw new InvalidOperationException($"replica {Id} is {State}; its data can only be wiped while it is down.");
        }

        if (Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }

    /// <summary>At the end of a run: SIGTERM (after SIGCONT, if paused), a bounded wait, then SIGKILL.</summary>
    public async Task StopAsync(TimeSpan wait, double now)
    {
        Process? process;
        lock (_gate)
        {
            process = _state == ReplicaRunState.Down ? null : _process;
            if (process is { HasExited: false } && !OperatingSystem.IsWindows())
            {
                ProcessSignals.Continue(process.Id);
                ProcessSignals.Terminate(process.Id);
            }
        }

        if (process is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            lock (_gate)
            {
                _state = ReplicaRunState.Down;
            }
        }
        catch (OperationCanceledException)
        {
            Kill(now, $"did not stop within {wait.TotalSeconds:0} s of SIGTERM");
        }
    }

    /// <summary>Kills any process still running (every exit path ends here), then closes the log.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var process in _lives)
            {
                try
                {
                    if (!process.HasExited)
                    {
                        process.Kill();
                        process.WaitForExit(KillWaitMs);
                    }
                }
                catch (InvalidOperationException)
                {
                    // It exited between the check and the kill.
                }

                process.Dispose();
            }

            _lives.Clear();
            _process = null;
            _state = ReplicaRunState.Down;
        }

        lock (_log)
        {
            _logClosed = true;
            _log.Dispose();
        }
    }

    /// <summary>The wall-clock time the replicas print at the start of each log line, to match chaos markers to them.</summary>
    private static string Wall => DateTime.Now.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);

    private void WriteLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }
        }
    }
}
