using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Synod.Chaos;
using Synod.Client;
using Synod.Protocol;

namespace Synod.Tests.Chaos;

/// <summary>
/// A real cluster behind a <see cref="PartitionNetwork"/>: N `synod serve` processes, each listening on its own
/// loopback port and reaching its peers only through the proxies. Clients talk to the real ports. Disposing kills
/// every process, stops the proxies and deletes the data.
/// </summary>
public sealed class PartitionedReplicas : IAsyncDisposable
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(1);
    private const int PollMs = 100;
    private readonly Dictionary<int, Process> _processes = [];
    private readonly Dictionary<int, StringBuilder> _logs = [];
    private readonly string _root;

    public PartitionedReplicas(int count)
    {
        _root = Path.Combine(Path.GetTempPath(), $"synod-chaos-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_root);
        var ports = FreePorts(count);
        Network = PartitionNetwork.Start(Enumerable.Range(1, count).ToDictionary(i => i, i => $"127.0.0.1:{ports[i - 1]}"));
        Client = new SynodClient(new SynodClientOptions
        {
            Endpoints = [.. Network.ReplicaIds.Select(Network.ListenEndpoint)],
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        foreach (var id in Network.ReplicaIds)
        {
            Start(id);
        }
    }

    public PartitionNetwork Network { get; }

    /// <summary>A client of every replica's real endpoint; endpoint index = replica id - 1.</summary>
    public SynodClient Client { get; }

    public async Task<StatusResponse?> StatusAsync(int id)
    {
        try
        {
            return await Client.StatusAsync(id - 1, StatusTimeout);
        }
        catch (SynodException)
        {
            return null;
        }
    }

    /// <summary>Polls every listed replica's status until <paramref name="done"/> holds for them (bounded).</summary>
    public async Task<IReadOnlyDictionary<int, StatusResponse>> WaitForAsync(
        IEnumerable<int> ids, Func<IReadOnlyDictionary<int, StatusResponse>, bool> done, string what, TimeSpan limit)
    {
        var among = ids.ToList();
        var deadline = DateTime.UtcNow + limit;
        var last = new Dictionary<int, StatusResponse>();
        while (DateTime.UtcNow < deadline)
        {
            last.Clear();
            foreach (var id in among)
            {
                if (await StatusAsync(id) is { } status)
                {
                    last[id] = status;
                }
            }

            if (last.Count == among.Count && done(last))
            {
                return last;
            }

            await Task.Delay(PollMs);
        }

        var seen = string.Join("; ", last.Select(s => $"{s.Key}: {s.Value.Role}, leader {s.Value.LeaderId}, applied {s.Value.AppliedSlot}"));
        throw new TimeoutException($"{what}: not within {limit.TotalSeconds} s (last seen {seen}; network {Network}).\n{AllLogs()}");
    }

    public string AllLogs() => string.Join("\n", _logs.Select(l => $"--- replica {l.Key} ---\n{Read(l.Value)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes.Values)
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }

        await Client.DisposeAsync();
        await Network.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
    }

    private void Start(int id)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        string[] args =
        [
            Path.Combine(AppContext.BaseDirectory, "synod.dll"), "serve", "--id", $"{id}",
            "--listen", Network.ListenEndpoint(id), "--peers", Network.PeersFor(id),
            "--data-dir", Path.Combine(_root, $"r{id}"), "--new-cluster",
        ];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var log = _logs[id] = new StringBuilder();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes[id] = process;
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
