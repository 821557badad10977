using System.Text.Json;
using Synod.Client;
using Synod.Storage;

namespace Synod.Cli;

/// <summary>
/// `serve --join`: what a replica added as a learner needs from the running cluster before it starts: the members it
/// can reach (and its own endpoint), the voters of the cluster's first configuration (the core and the cluster id start
/// from them) and the largest id used so far. Kept in DATA_DIR/join.json once the data directory is initialised, so that
/// the replica can start again when no other replica answers (a whole cluster of replicas that joined, restarted).
/// </summary>
internal sealed record JoinedCluster(ClusterConfig Cluster, IReadOnlyList<int> InitialVoters, int IdMax, ulong ClusterId, bool Voter)
{
    public static async Task<JoinedCluster> FetchAsync(int id, string endpoints, string? clusterToken, SynodClientTls? tls, CancellationToken cancellation)
    {
        var list = endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length == 0)
        {
            throw new FormatException("--join needs HOST:PORT of at least one replica of the cluster.");
        }

        // The configuration as the replica that knows the most slots chosen has it: a lagging one may not know yet that
        // this replica was added, or promoted (and a voter must not start empty).
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = list, Tls = tls });
        var members = await client.MostAdvancedMembersAsync(FetchBudget, cancellation) ??
            throw new SynodUnreachableException(
                $"none of {string.Join(", ", list)} answered within {FetchBudget.TotalSeconds:0} s", new FailureSummary(FetchBudget, list.Length, false, null, null, null));

        var self = members.Members.FirstOrDefault(m => m.Id == id) ??
            throw new FormatException($"replica {id} is not a member of the cluster at {endpoints} (members: {string.Join(",", members.Members.Select(m => m.Id))}); add it first: synod member add {id}=HOST:PORT.");
        if (self.Endpoint.Length == 0)
        {
            throw new FormatException($"replica {id} is a member of the cluster's first configuration; start it with --peers, not --join.");
        }

        var replicas = members.Members.Where(m => m.Endpoint.Length > 0)
            .Select(m => new ClusterConfig.ReplicaEntry { Id = m.Id, Endpoint = m.Endpoint })
            .ToList();
        return new JoinedCluster(new ClusterConfig { Replicas = replicas, ClusterToken = clusterToken }, members.InitialVoters, members.IdMax, members.ClusterId, self.Voter);
    }

    public const string RecordFileName = "join.json";

    /// <summary>How long `serve --join` waits for the replicas named to answer.</summary>
    private static readonly TimeSpan FetchBudget = TimeSpan.FromSeconds(10);

    private sealed record Record(List<ClusterConfig.ReplicaEntry> Replicas, string? ClusterToken, List<int> InitialVoters, int IdMax, ulong ClusterId);

    /// <summary>
    /// Writes DATA_DIR/join.json (tmp, fsync, rename) once the storage has initialised the directory (its meta file
    /// exists): before that, a file there would make an empty directory look used. Gives up after a minute.
    /// </summary>
    public async Task RecordWhenInitialisedAsync(string dataDir, CancellationToken cancellation)
    {
        for (var i = 0; i < 300 && !cancellation.IsCancellationRequested; i++)
        {
            if (File.Exists(Path.Combine(dataDir, ReplicaStorage.MetaFileName)))
            {
                var record = new Record([.. Cluster.Replicas], Cluster.ClusterToken, [.. InitialVoters], IdMax, ClusterId);
                DurableFile.Replace(new RealDisk(), Path.Combine(dataDir, RecordFileName), JsonSerializer.SerializeToUtf8Bytes(record));
                return;
            }

            await Task.Delay(200, cancellation);
        }
    }

    /// <summary>The record of the last start, if DATA_DIR holds this replica's state and one; null otherwise.</summary>
    public static JoinedCluster? Recorded(string dataDir)
    {
        var path = Path.Combine(dataDir, RecordFileName);
        if (!File.Exists(path) || !File.Exists(Path.Combine(dataDir, ReplicaStorage.MetaFileName)))
        {
            return null;
        }

        try
        {
            var record = JsonSerializer.Deserialize<Record>(File.ReadAllBytes(path));
            return record is null ? null
                : new JoinedCluster(new ClusterConfig { Replicas = record.Replicas, ClusterToken = record.ClusterToken }, record.InitialVoters, record.IdMax, record.ClusterId, Voter: false);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
