using Synod.Chaos;
using Synod.Client;
using Synod.Protocol;
using Synod.Tests.Cluster;

namespace Synod.Tests.Chaos;

/// <summary>
/// A real cluster behind a <see cref="PartitionNetwork"/>: N `synod serve` processes, each listening on its own
/// loopback port and reaching its peers only through the proxies. Clients talk to the real ports. Disposing kills
/// every process, stops the proxies and deletes the data.
/// </summary>
public sealed class PartitionedReplicas : IAsyncDisposable
{
    private const int PollMs = 100;
    private readonly ReplicaProcesses _processes;

    public PartitionedReplicas(int count)
    {
        var endpoints = ReplicaProcesses.NewEndpoints(count);
        Network = PartitionNetwork.Start(endpoints);
        Client = new SynodClient(new SynodClientOptions
        {
            Endpoints = [.. Network.ReplicaIds.Select(Network.ListenEndpoint)],
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        _processes = new ReplicaProcesses(endpoints, id => ["--listen", Network.ListenEndpoint(id), "--peers", Network.PeersFor(id)]);
    }

    public PartitionNetwork Network { get; }

    /// <summary>A client of every replica's real endpoint; endpoint index = replica id - 1.</summary>
    public SynodClient Client { get; }

    public Task<StatusResponse?> StatusAsync(int id) => _processes.StatusAsync(id);

    /// <summary>Polls every listed replica's status until <paramref name="done"/> holds for them (bounded).</summary>
    public async Task<IReadOnlyDictionary<int, StatusResponse>> WaitForAsync(
        IEnumerable<int> ids, Func<IReadOnlyDictionary<int, StatusResponse>, bool> done, string what, TimeSpan limit)
    {
        var among = ids.ToList();
        var last = new Dictionary<int, StatusResponse>();
        if (await Eventually.WithinAsync(
            async () =>
            {
                last.Clear();
                foreach (var id in among)
                {
                    if (await StatusAsync(id) is { } status)
                    {
                        last[id] = status;
                    }
                }

                return last.Count == among.Count && done(last);
            },
            limit,
            TimeSpan.FromMilliseconds(PollMs)))
        {
            return last;
        }

        var seen = string.Join("; ", last.Select(s => $"{s.Key}: {s.Value.Role}, leader {s.Value.LeaderId}, applied {s.Value.AppliedSlot}"));
        throw new TimeoutException($"{what}: not within {limit.TotalSeconds} s (last seen {seen}; network {Network}).\n{AllLogs()}");
    }

    public string AllLogs() => _processes.AllLogs();

    public async ValueTask DisposeAsync()
    {
        await _processes.DisposeAsync();
        await Client.DisposeAsync();
        await Network.DisposeAsync();
    }
}
