using System.Globalization;
using Synod.Client;

namespace Synod.Cli;

/// <summary>
/// Where the cluster is, resolved from the client commands' options: --endpoints, else DATA_DIR/cluster.json,
/// else the default local cluster of five replicas on 127.0.0.1:7001..7005.
/// </summary>
public sealed class ClientCommandContext
{
    public const double TimeoutSecondsDefault = 10;

    /// <summary>The longest --timeout accepted, in seconds; the client refuses longer operation deadlines.</summary>
    public const double TimeoutSecondsMax = 3600;

    public const string DefaultHost = "127.0.0.1";
    public const int DefaultPortFirst = 7001;
    public const int DefaultReplicaCount = 5;

    private ClientCommandContext(ClusterConfig cluster, string source, SynodClientTls? tls)
    {
        Cluster = cluster;
        Source = source;
        Tls = tls;
    }

    /// <summary>TLS to the replicas: from --cacert/--cert/--key, else the CA cluster.json names; null: plaintext.</summary>
    public SynodClientTls? Tls { get; }

    public ClusterConfig Cluster { get; }

    /// <summary>Where <see cref="Cluster"/> came from, for messages: "--endpoints", a file path, or the default cluster.</summary>
    public string Source { get; }

    /// <exception cref="ClientInputException">The endpoints or the cluster file are malformed or unreadable.</exception>
    public static ClientCommandContext Resolve(string? endpoints, string? dataDir, ClientTlsFlags tls = default)
    {
        if (endpoints is not null)
        {
            try
            {
                return new ClientCommandContext(ClusterConfig.ParseEndpoints(endpoints), "--endpoints", LoadTls(tls, null));
            }
            catch (FormatException e)
            {
                throw new ClientInputException($"--endpoints '{endpoints}' is malformed: {e.Message} Give HOST:PORT,HOST:PORT,...", e);
            }
        }

        var path = Path.Combine(string.IsNullOrWhiteSpace(dataDir) ? ClientCommandOptions.DataDirDefault : dataDir, ClusterConfig.FileName);
        if (!File.Exists(path))
        {
            return new ClientCommandContext(DefaultCluster(), $"the default cluster {DefaultHost}:{DefaultPortFirst}..{DefaultPortFirst + DefaultReplicaCount - 1}, as {path} does not exist", LoadTls(tls, null));
        }

        ClusterConfig cluster;
        try
        {
            cluster = ClusterConfig.Load(path).WithoutRemoved();
        }
        catch (FormatException e)
        {
            throw new ClientInputException($"{e.Message} Fix or remove the file, or pass --endpoints.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientInputException($"cannot read {path}: {e.Message} Pass --endpoints instead.", e);
        }

        return new ClientCommandContext(cluster, path, LoadTls(tls, cluster.TlsCa));
    }

    /// <summary>The TLS the flags ask for, else TLS trusting <paramref name="clusterCa"/> (cluster.json's), else none.</summary>
    private static SynodClientTls? LoadTls(ClientTlsFlags flags, string? clusterCa)
    {
        if (flags.CaCert is null && flags.Cert is null && flags.Key is null && clusterCa is null)
        {
            return null;
        }

        try
        {
            return SynodClientTls.FromPemFiles(flags.CaCert ?? clusterCa, flags.Cert, flags.Key);
        }
        catch (ArgumentException e)
        {
            throw new ClientInputException(e.Message, e);
        }
    }

    /// <summary>Five replicas, ids 1..5, on consecutive local ports: what `synod cluster` starts by default.</summary>
    public static ClusterConfig DefaultCluster() => new()
    {
        Replicas =
        [
            .. Enumerable.Range(1, DefaultReplicaCount).Select(id => new ClusterConfig.ReplicaEntry
            {
                Id = id,
                Endpoint = $"{DefaultHost}:{DefaultPortFirst + id - 1}",
            }),
        ],
    };

    /// <summary>Parses --timeout like every duration on the command line (DurationText: "10", "2.5", "10s", "500ms", "1m"); null means the default.</summary>
    public static TimeSpan ParseTimeout(string? text)
    {
        if (text is null)
        {
            return TimeSpan.FromSeconds(TimeoutSecondsDefault);
        }

        if (!Synod.Chaos.DurationText.TryParse(text, TimeSpan.FromSeconds(TimeoutSecondsMax), out var timeout))
        {
            throw new ClientInputException($"--timeout '{text}' is not a duration above 0 and at most {TimeoutSecondsMax} s; for example --timeout 10 (seconds), 10s or 500ms.");
        }

        return timeout;
    }

    /// <summary>The position in <see cref="Cluster"/> of the replica --node names, or null without --node.</summary>
    public int? EndpointIndexOfNode(string? nodeText)
    {
        if (nodeText is null)
        {
            return null;
        }

        var ids = string.Join(",", Cluster.Replicas.Select(r => r.Id));
        if (!int.TryParse(nodeText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            throw new ClientInputException($"--node '{nodeText}' is not a replica id; give one of {ids}, the ids in {Source}.");
        }

        var index = Cluster.Replicas.ToList().FindIndex(r => r.Id == id);
        if (index < 0)
        {
            throw new ClientInputException($"--node {id} is not a replica of this cluster; the ids in {Source} are {ids}.");
        }

        return index;
    }

    /// <summary>The client settings for this cluster: endpoints in cluster order, so replica index i is endpoint i.</summary>
    public SynodClientOptions ClientOptions(TimeSpan operationTimeout)
    {
        var options = new SynodClientOptions
        {
            Endpoints = [.. Cluster.Replicas.Select(r => r.Endpoint)],
            Tls = Tls,
            OperationTimeout = operationTimeout,
            AttemptTimeout = operationTimeout < SynodClientOptions.AttemptTimeoutDefault ? operationTimeout : SynodClientOptions.AttemptTimeoutDefault,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ClientInputException($"the replica list from {Source} cannot be used: {e.Message}", e);
        }

        return options;
    }
}

/// <summary>The client commands' TLS flags as given: --cacert, --cert, --key (each null when absent).</summary>
public readonly record struct ClientTlsFlags(string? CaCert, string? Cert, string? Key);
