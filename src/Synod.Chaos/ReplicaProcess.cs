using System.Diagnostics;
using System.Globalization;

namespace Synod.Chaos;

/// <summary>
/// One replica's `synod serve` process for every tool that runs real replicas: `synod cluster`, `synod chaos`, the
/// failover benchmark and the tests. It is started, killed, paused, resumed and stopped only through this object, so a
/// tool never signals a process it did not start, and its log file collects the output of every life of the replica,
/// with a marker line for each start and signal.
/// </summary>
public class ReplicaProcess : IDisposable
{
    /// <summary>How long to wait for a process to be gone after SIGKILL; the kernel reaps it at once, so this is generous.</summary>
    private const int KillWaitMs = 5_000;

    private readonly Lock _gate = new();
    private readonly StreamWriter _log;
    private readonly List<Process> _lives = [];
    private readonly IReadOnlyList<string> _program;
    private readonly IReadOnlyList<string> _serveArgs;
    private Process? _process;
    private ReplicaRunState _state = ReplicaRunState.Down;
    private bool _logClosed;

    /// <param name="id">The replica's id, for messages.</param>
    /// <param name="program">How to run synod: an executable and the arguments that come before "serve" (for example dotnet synod.dll).</param>
    /// <param name="serveArgs">Every `synod serve` argument but the start mode (--new-cluster, --rebuild-from-peers).</param>
    /// <param name="logPath">Where the replica's output goes; appended to when <paramref name="appendLog"/>, else started afresh.</param>
    public ReplicaProcess(int id, IReadOnlyList<string> program, IReadOnlyList<string> serveArgs, string logPath, bool appendLog = false)
    {
        ArgumentOutOfRangeException.ThrowIfZero(program.Count);
        Id = id;
        _program = program;
        _serveArgs = serveArgs;
        LogPath = logPath;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        _log = new StreamWriter(new FileStream(logPath, appendLog ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public int Id { get; }

    public string LogPath { get; }

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

    /// <summary>The running (or paused) process's id, or the last one's after it exited on its own; null before the first start.</summary>
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

    /// <summary>Whether the last process started has exited (killed or on its own); false before the first start.</summary>
    public bool HasExited
    {
        get
        {
            lock (_gate)
            {
                return _process is { HasExited: true };
            }
        }
    }

    /// <summary>
    /// Starts `synod serve` with the serve arguments and <paramref name="modeArgs"/> (--new-cluster, --rebuild-from-peers
    /// or nothing); <paramref name="note"/> goes into the log's marker line. Returns the process id.
    /// </summary>
    public int Start(IEnumerable<string> modeArgs, string? note = null)
    {
        var start = new ProcessStartInfo(_program[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        var args = _program.Skip(1).Concat(["serve"]).Concat(_serveArgs).Concat(modeArgs).ToList();
        args.ForEach(start.ArgumentList.Add);
        lock (_gate)
        {
            if (_state != ReplicaRunState.Down)
            {
                throw new InvalidOperationException($"replica {Id} is {_state}; only a replica that is down can be started.");
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start replica {Id} ({_program[0]}).");
            process.OutputDataReceived += (_, e) => WriteLog(e.Data);
            process.ErrorDataReceived += (_, e) => WriteLog(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _lives.Add(process);
            _process = process;
            _state = ReplicaRunState.Running;
            Mark(note, $"started pid {process.Id}: {string.Join(' ', args.Skip(_program.Count - 1))}");
            return process.Id;
        }
    }

    /// <summary>SIGKILL; returns the process id killed, or null when the replica was already down.</summary>
    public int? Kill(string? why = null, string? note = null)
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
            Mark(note, $"SIGKILL pid {process.Id}{(why is null ? "" : $" ({why})")}");
            return process.Id;
        }
    }

    /// <summary>SIGSTOP; false when the replica was not running.</summary>
    public bool Pause(string? note = null)
    {
        lock (_gate)
        {
            if (_process is not { HasExited: false } process || _state != ReplicaRunState.Running || !ProcessSignals.Stop(process.Id))
            {
                return false;
            }

            _state = ReplicaRunState.Paused;
            Mark(note, $"SIGSTOP pid {process.Id}");
            return true;
        }
    }

    /// <summary>SIGCONT; false when the replica was not paused.</summary>
    public bool Resume(string? note = null)
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
            Mark(note, $"SIGCONT pid {process.Id}");
            return true;
        }
    }

    /// <summary>True once, when a process that was not killed through this object has exited (an assertion, a crash, a refusal to start).</summary>
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

    /// <summary>SIGTERM (after SIGCONT, if paused), a bounded wait, then SIGKILL. True if it stopped within the wait.</summary>
    public async Task<bool> StopAsync(TimeSpan wait, string? note = null)
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
            return true;
        }

        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            lock (_gate)
            {
                _state = ReplicaRunState.Down;
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            Kill($"did not stop within {wait.TotalSeconds:0} s of SIGTERM", note);
            return false;
        }
    }

    /// <summary>What the replica has written so far, every life of it (the log file, read while it is written).</summary>
    public string ReadLog()
    {
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Kills any process still running (every exit path ends here), then closes the log.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

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

    /// <summary>The wall-clock time the replicas print at the start of each log line, to match markers to them.</summary>
    private static string Wall => DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private void Mark(string? note, string what) => WriteLog($"=== {(note is null ? "" : note + " ")}({Wall}): {what}");

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
