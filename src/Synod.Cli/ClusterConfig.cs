using System.Text.Json;
using System.Text.Json.Serialization;
using Synod.Storage;

namespace Synod.Cli;

/// <summary>
/// The shape of a cluster: which replica id listens where. `synod cluster` writes one to DATA_DIR/cluster.json
/// (with process ids) so that the other commands find the local cluster; `synod serve --config` reads one.
/// </summary>
public sealed record ClusterConfig
{
    public const string FileName = "cluster.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public required IReadOnlyList<ReplicaEntry> Replicas { get; init; }

    /// <summary>The cluster's --cluster-token (`synod cluster` draws one at random for a new cluster); null means the default.</summary>
    public string? ClusterToken { get; init; }

    /// <summary>The CA clients trust when the replicas serve clients over TLS (`synod cluster --tls`): an absolute path; null: plaintext.</summary>
    public string? TlsCa { get; init; }

    public sealed record ReplicaEntry
    {
        public required int Id { get; init; }

        /// <summary>host:port, serving both clients and peers.</summary>
        public required string Endpoint { get; init; }

        public int? ProcessId { get; init; }

        /// <summary>host:port of the replica's HTTP endpoint (serve --http: /metrics), if it has one.</summary>
        public string? Http { get; init; }

        public string? DataDir { get; init; }

        /// <summary>Joined the running cluster (`synod cluster add`): restarted with --join, and no member of the first configuration's --peers.</summary>
        public bool? Joined { get; init; }

        /// <summary>Removed from the cluster and stopped: never started again (a member of the first configuration stays listed for the others' --peers).</summary>
        public bool? Removed { get; init; }
    }

    /// <summary>The replicas clients may ask: every one not removed.</summary>
    public ClusterConfig WithoutRemoved() => this with { Replicas = [.. Replicas.Where(r => r.Removed != true)] };

    public static ClusterConfig Load(string path)
    {
        try
        {
            var config = JsonSerializer.Deserialize<ClusterConfig>(File.ReadAllText(path), JsonOptions)
                ?? throw new FormatException("the file is empty");
            config.Validate();
            return config;
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path} is not a valid cluster config: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Replaces the file durably (tmp, fsync, rename, fsync of the folder): clients and restarts read it.</summary>
    public void Save(string path) =>
        DurableFile.Replace(new RealDisk(), path, JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions));

    /// <summary>Parses "1=127.0.0.1:7001,2=127.0.0.1:7002" (the --peers form).</summary>
    public static ClusterConfig ParsePeers(string text)
    {
        var config = new ClusterConfig { Replicas = ParseIdEndpoints(text) };
        config.Validate();
        return config;
    }

    /// <summary>Parses "1=127.0.0.1:7001,2=127.0.0.1:7002" into its entries, unchecked (--peers, --peer-routes).</summary>
    public static List<ReplicaEntry> ParseIdEndpoints(string text)
    {
        var replicas = new List<ReplicaEntry>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pieces = part.Split('=', 2);
            if (pieces.Length != 2 || !int.TryParse(pieces[0], out var id))
            {
                throw new FormatException($"'{part}' is not ID=HOST:PORT (for example 3=127.0.0.1:7003).");
            }

            replicas.Add(new ReplicaEntry { Id = id, Endpoint = pieces[1] });
        }

        return replicas;
    }

    /// <summary>Parses "127.0.0.1:7001,127.0.0.1:7002" (the --endpoints form); replica ids are positions from 1.</summary>
    public static ClusterConfig ParseEndpoints(string text)
    {
        var endpoints = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var config = new ClusterConfig { Replicas = [.. endpoints.Select((e, i) => new ReplicaEntry { Id = i + 1, Endpoint = e })] };
        config.Validate();
        return config;
    }

    public void Validate()
    {
        if (Replicas.Count == 0)
        {
            throw new FormatException("the cluster lists no replicas.");
        }

        foreach (var replica in Replicas)
        {
            if (replica.Id < 1)
            {
                throw new FormatException($"replica id {replica.Id} is below 1; ids start at 1.");
            }

            if (!Synod.Protocol.HostPort.TryParse(replica.Endpoint, out _, out _, out var problem))
            {
                throw new FormatException($"replica {replica.Id}'s endpoint {problem}");
            }
        }

        if (Replicas.Select(r => r.Id).Distinct().Count() != Replicas.Count)
        {
            throw new FormatException("a replica id appears twice; every replica needs its own id.");
        }
    }
}
