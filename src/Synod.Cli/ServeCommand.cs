using System.CommandLine;
using Synod.Client;
using Synod.Server;
using Synod.Storage;

namespace Synod.Cli;

/// <summary>`synod serve`: one replica, serving clients and peers on one address, until SIGINT or SIGTERM.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var id = new Option<int>("--id") { Description = "This replica's id (it must appear in --peers or the config).", Required = true };
        var listen = new Option<string?>("--listen") { Description = "host:port to serve on (default: this replica's entry in --peers)." };
        var logFormat = new Option<string>("--log-format") { Description = "How log lines are written: text (one line each, for people) or json (one JSON object per line, for machines).", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var logLevel = new Option<string>("--log-level") { Description = "The least severe log lines written: debug, info, warning or error.", DefaultValueFactory = _ => "info" };
        logLevel.AcceptOnlyFromAmong("debug", "info", "warning", "error");
        var http = new Option<string?>("--http") { Description = "host:port of the operator's HTTP endpoint: the web dashboard at / and /metrics in the Prometheus text format (default: none). Plain HTTP without sign-in: bind it to loopback or a network only operators reach." };
        var peers = new Option<string?>("--peers") { Description = "Every replica, this one included: 1=127.0.0.1:7001,2=127.0.0.1:7002,..." };
        var config = new Option<string?>("--config") { Description = "A cluster.json listing the replicas (instead of --peers)." };
        var join = new Option<string?>("--join")
        {
            Description = "Join a running cluster (instead of --peers): HOST:PORT of one or more of its replicas, comma-separated. Add this replica first (synod member add ID=HOST:PORT); it fetches the members from them and learns the state as a learner, on an empty --data-dir.",
        };
        var peerRoutes = new Option<string?>("--peer-routes")
        {
            Description = "Dial these peers here instead of at their configured endpoints: ID=HOST:PORT,... (a local route, such as a proxy; clients and the configuration keep the peer's own endpoint).",
        };
        var dataDir = new Option<string>("--data-dir") { Description = "Where this replica keeps its durable state.", Required = true };
        var tickMs = new Option<int>("--tick-ms") { Description = "Real milliseconds per core tick (timeouts are counted in ticks).", DefaultValueFactory = _ => ServerOptions.Defaults.TickMs };
        var newCluster = new Option<bool>("--new-cluster")
        {
            Description = "Initialise an empty --data-dir as a member of a brand-new cluster (a directory that holds state is just opened). Never use it to restart a replica that lost its data: use --rebuild-from-peers.",
        };
        var rebuild = new Option<bool>("--rebuild-from-peers")
        {
            Description = "Discard this replica's local state (moved aside into discarded-N in --data-dir) and rejoin as a non-voter that votes again only once it has caught up safely. For a lost or damaged disk.",
        };
        var snapshotEverySlots = new Option<int>("--snapshot-every-slots") { Description = "Take a snapshot and compact the log every this many slots (each voter in its own phase of them, so replicas snapshot apart).", DefaultValueFactory = _ => ServerOptions.Defaults.SnapshotEverySlots };
        var snapshotEveryBytes = new Option<long>("--snapshot-every-bytes") { Description = "...or once the log grew by this many bytes since the last one (or by the last snapshot's size, if that is more: a snapshot never costs more than the log it lets go).", DefaultValueFactory = _ => ServerOptions.Defaults.SnapshotEveryBytes };
        var sessionsMax = new Option<int>("--sessions-max")
        {
            Description = "Client sessions kept for exactly-once writes; a new client beyond it evicts the least recently used. The same on every replica.",
            DefaultValueFactory = _ => ServerOptions.Defaults.SessionsMax,
        };
        var historyRevisions = new Option<long>("--history-revisions")
        {
            Description = "Revisions of history kept for reads at a past revision (get/range --rev) and for watchers catching up; older ones are compacted. Use the same on every replica.",
            DefaultValueFactory = _ => ServerOptions.Defaults.HistoryRevisions,
        };
        var historyBytes = new Option<long>("--history-bytes")
        {
            Description = "...and at most this many bytes of history (keys, values and previous values), whichever comes first.",
            DefaultValueFactory = _ => ServerOptions.Defaults.HistoryBytes,
        };
        var quotaBytes = new Option<long>("--quota-bytes")
        {
            Description = "The write quota: a put or transaction that would take the keys and values (16 bytes of overhead per key) past this many bytes is refused with \"database space exceeded\" (exit code 9); deletes are still served. With --history-bytes, the sessions and 128 MiB of room it must fit the 1 GiB snapshot limit. Use the same on every replica.",
            DefaultValueFactory = _ => ServerOptions.Defaults.QuotaBytes,
        };
        var backgroundGcHeapBytes = new Option<long>("--background-gc-heap-bytes")
        {
            Description = "From this size of the collected heap, full garbage collections run in the background instead of stopping the replica (back below half of it; 0: always). Blocking ones are faster for a small heap; for millions of keys they stop a replica for seconds.",
            DefaultValueFactory = _ => ServerOptions.Defaults.BackgroundGcHeapBytes,
        };
        var watchersMax = new Option<int>("--watchers-max") { Description = "The most watchers this replica serves in all.", DefaultValueFactory = _ => ServerOptions.Defaults.WatchersMax };
        var watchersPerStreamMax = new Option<int>("--watchers-per-stream-max") { Description = "The most watchers one watch stream holds.", DefaultValueFactory = _ => ServerOptions.Defaults.WatchersPerStreamMax };
        var watchStreamBytesMax = new Option<long>("--watch-stream-bytes-max")
        {
            Description = "The bytes one watch stream may have queued for a slow client; past it its watchers catch up from the history once it reads on.",
            DefaultValueFactory = _ => ServerOptions.Defaults.WatchStreamBytesMax,
        };
        var watchBytesMax = new Option<long>("--watch-bytes-max")
        {
            Description = "The bytes all watch streams together may have queued for their clients; past it no stream is sent more until they read on.",
            DefaultValueFactory = _ => ServerOptions.Defaults.WatchBytesMax,
        };
        var watchProgressInterval = new Option<string>("--watch-progress-interval")
        {
            Description = "An idle watcher that asked for progress notifications gets one after this long (10s, 500ms, 1m).",
            DefaultValueFactory = _ => $"{ServerOptions.Defaults.WatchProgressIntervalMs}ms",
        };
        var authTokenTtl = new Option<string>("--auth-token-ttl")
        {
            Description = "How long a token from signing in (a client's --user) is good for (5m, 30s, 1h); a client signs in again before then.",
            DefaultValueFactory = _ => $"{ServerOptions.Defaults.AuthTokenTtlMs}ms",
        };
        var shutdownDrain = new Option<string>("--shutdown-drain")
        {
            Description = "On SIGTERM or Ctrl-C, how long a leader may take to hand leadership to the most up-to-date voter and every replica to answer the requests it holds before it stops (3s, 500ms; 0: stop at once).",
            DefaultValueFactory = _ => $"{ServerOptions.Defaults.ShutdownDrainMs}ms",
        };
        var walSegmentBytes = new Option<long>("--wal-segment-bytes") { Description = "Size at which a write-ahead log segment is closed and a new one begun.", DefaultValueFactory = _ => ServerOptions.Defaults.Storage.SegmentBytesMax };
        var restamp = new Option<bool>("--restamp-cluster-id")
        {
            Description = "Stamp the data directory with this --cluster-token's cluster id before starting, whatever id it holds (to undo a mistyped token at a first start; the other replicas must agree with the new id).",
        };
        var clusterToken = new Option<string?>("--cluster-token")
        {
            Description = $"Names this cluster; every replica of it gives the same one. With the replica ids it makes the cluster id, stamped in the data directory and checked on every peer connection (default: the --config file's, else \"{ServerOptions.ClusterTokenDefault}\").",
        };
        var peerCert = new Option<string?>("--peer-cert") { Description = "This replica's certificate (PEM, from ./synod certs: replica-N.pem); peers must show one from the same CA." };
        var peerKey = new Option<string?>("--peer-key") { Description = "The private key of --peer-cert (PEM: replica-N-key.pem)." };
        var peerCa = new Option<string?>("--peer-ca") { Description = "The cluster's CA certificate (PEM: ca.pem); only certificates it issued are accepted from peers." };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "Serve clients over TLS with this certificate (PEM, such as ./synod certs' replica-N.pem); plaintext clients are then refused." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "The private key of --tls-cert (PEM)." };
        var tlsClientCa = new Option<string?>("--tls-client-ca") { Description = "Require every client to show a certificate issued by this CA (PEM): mutual TLS. Needs --tls-cert." };
        var insecurePeers = new Option<bool>("--insecure-peers")
        {
            Description = "Talk to peers in plaintext without certificates: any process that reaches the port can then speak as a replica. Only for trusted networks and tests.",
        };
        var preferredLeader = new Option<string>("--preferred-leader")
        {
            Description = "Which replica leads once it is up, heard and caught up for the stability window: largest-id (the largest live voter), none (leadership stays where an election put it), or a replica id.",
            DefaultValueFactory = _ => "largest-id",
        };
        var preferredLeaderWindow = new Option<string>("--preferred-leader-window")
        {
            Description = "The stability window: how long the preferred replica must be up, heard without a gap and caught up before the leader hands over to it; also the least time between two such handovers (e.g. 3s).",
            DefaultValueFactory = _ => "3s",
        };
        var preferredLeaderLagSlots = new Option<int>("--preferred-leader-lag-slots")
        {
            Description = "How many slots behind the leader's commit index the preferred replica may be and still count as caught up.",
            DefaultValueFactory = _ => ServerOptions.Defaults.PreferredLeaderLagSlotsMax,
        };
        var command = new Command("serve", "Run one replica (for replicas on separate hosts, or under another supervisor).")
        {
            preferredLeader, preferredLeaderWindow, preferredLeaderLagSlots,
            id, listen, http, logFormat, logLevel, peers, config, join, peerRoutes, dataDir, tickMs, newCluster, rebuild, snapshotEverySlots, snapshotEveryBytes, sessionsMax, historyRevisions, historyBytes, quotaBytes, backgroundGcHeapBytes, watchersMax, watchersPerStreamMax, watchStreamBytesMax, watchBytesMax, watchProgressInterval, authTokenTtl, shutdownDrain, walSegmentBytes,
            peerCert, peerKey, peerCa, insecurePeers, clusterToken, restamp, tlsCert, tlsKey, tlsClientCa,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            ClusterConfig cluster;
            JoinedCluster? joined = null;
            SynodClientTls? ownTls;
            try
            {
                ownTls = OwnClientTls(parse.GetValue(tlsCert), parse.GetValue(peerCa) ?? parse.GetValue(tlsClientCa), parse.GetValue(peerCert), parse.GetValue(peerKey));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            try
            {
                if (parse.GetValue(join) is { } joinEndpoints)
                {
                    if (parse.GetValue(peers) is not null || parse.GetValue(config) is not null)
                    {
                        throw new FormatException("give --join (a replica that joins a running cluster) or --peers/--config (a member of the first configuration), not both.");
                    }

                    var joinDir = Path.GetFullPath(parse.GetValue(dataDir)!);
                    try
                    {
                        joined = await JoinedCluster.FetchAsync(parse.GetValue(id), joinEndpoints, parse.GetValue(clusterToken), ownTls, cancellation);
                    }
                    catch (Synod.Client.SynodException e) when (JoinedCluster.Recorded(joinDir) is { } recorded)
                    {
                        // Its own state says what it needs (the configurations since); the record gives the rest.
                        Console.Error.WriteLine($"warning: no replica at {joinEndpoints} answered ({e.Message}); replica {parse.GetValue(id)} starts from its own state and {Path.Combine(joinDir, JoinedCluster.RecordFileName)}.");
                        joined = recorded;
                    }

                    cluster = joined.Cluster;
                }
                else
                {
                    cluster = LoadCluster(parse.GetValue(peers), parse.GetValue(config));
                }
            }
            catch (Exception e) when (e is FormatException or IOException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (Synod.Client.SynodException e)
            {
                Console.Error.WriteLine($"error: replica {parse.GetValue(id)} cannot join: {e.Message}");
                return ExitCodes.Unreachable;
            }

            if (parse.GetValue(newCluster) && parse.GetValue(rebuild))
            {
                Console.Error.WriteLine("error: give --new-cluster (a brand-new cluster) or --rebuild-from-peers (rejoin after losing this replica's data), not both.");
                return ExitCodes.InvalidInput;
            }

            PeerCredentials? credentials;
            try
            {
                credentials = LoadCredentials(parse.GetValue(peerCert), parse.GetValue(peerKey), parse.GetValue(peerCa), parse.GetValue(insecurePeers), parse.GetValue(id));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            using var ownedCredentials = credentials;
            ClientTls? clientTls;
            try
            {
                clientTls = LoadClientTls(parse.GetValue(tlsCert), parse.GetValue(tlsKey), parse.GetValue(tlsClientCa));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            using var ownedClientTls = clientTls;
            Dictionary<int, string> routes;
            try
            {
                routes = ParseRoutes(parse.GetValue(peerRoutes));
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"error: --peer-routes: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            var preferred = ParsePreferredLeader(parse.GetValue(preferredLeader)!);
            if (preferred is null)
            {
                Console.Error.WriteLine($"error: --preferred-leader {parse.GetValue(preferredLeader)}: expected largest-id, none or a replica id (1 to {Synod.Core.Configuration.ReplicaIdMax}).");
                return ExitCodes.InvalidInput;
            }

            if (!Synod.Chaos.DurationText.TryParse(parse.GetValue(preferredLeaderWindow)!, TimeSpan.FromDays(1), out var window))
            {
                Console.Error.WriteLine($"error: --preferred-leader-window {parse.GetValue(preferredLeaderWindow)}: expected a duration up to a day, such as 3s or 500ms.");
                return ExitCodes.InvalidInput;
            }

            var options = new ServerOptions
            {
                PreferredLeader = preferred.Value,
                PreferredLeaderStableMs = (int)window.TotalMilliseconds,
                PreferredLeaderLagSlotsMax = parse.GetValue(preferredLeaderLagSlots),
                PeerCredentials = credentials,
                ClientTls = clientTls,
                InsecurePeers = parse.GetValue(insecurePeers),
                Id = parse.GetValue(id),
                Endpoints = cluster.Replicas.ToDictionary(r => r.Id, r => r.Endpoint),
                Listen = parse.GetValue(listen),
                HttpEndpoint = parse.GetValue(http),
                LogFormat = parse.GetValue(logFormat) == "json" ? LogFormat.Json : LogFormat.Text,
                LogLevel = parse.GetValue(logLevel) switch
                {
                    "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
                    "warning" => Microsoft.Extensions.Logging.LogLevel.Warning,
                    "error" => Microsoft.Extensions.Logging.LogLevel.Error,
                    _ => Microsoft.Extensions.Logging.LogLevel.Information,
                },
                PeerRoutes = routes,
                DataDir = Path.GetFullPath(parse.GetValue(dataDir)!),
                TickMs = parse.GetValue(tickMs),
                OpenMode = parse.GetValue(rebuild) ? StorageOpenMode.RebuildFromPeers
                    : parse.GetValue(newCluster) || (joined is not null && IsEmptyDirectory(Path.GetFullPath(parse.GetValue(dataDir)!))) ? StorageOpenMode.NewCluster
                    : StorageOpenMode.Existing,
                InitialVoters = joined?.InitialVoters,
                JoinIdMax = joined?.IdMax ?? 0,
                SnapshotEverySlots = parse.GetValue(snapshotEverySlots),
                SnapshotEveryBytes = parse.GetValue(snapshotEveryBytes),
                Storage = new StorageOptions { SegmentBytesMax = parse.GetValue(walSegmentBytes) },
                ClusterToken = parse.GetValue(clusterToken) ?? cluster.ClusterToken ?? ServerOptions.ClusterTokenDefault,
                SessionsMax = parse.GetValue(sessionsMax),
                HistoryRevisions = parse.GetValue(historyRevisions),
                HistoryBytes = parse.GetValue(historyBytes),
                QuotaBytes = parse.GetValue(quotaBytes),
                BackgroundGcHeapBytes = parse.GetValue(backgroundGcHeapBytes),
                WatchersMax = parse.GetValue(watchersMax),
                WatchersPerStreamMax = parse.GetValue(watchersPerStreamMax),
                WatchStreamBytesMax = parse.GetValue(watchStreamBytesMax),
                WatchBytesMax = parse.GetValue(watchBytesMax),
                WatchProgressIntervalMs = Synod.Chaos.DurationText.TryParse(parse.GetValue(watchProgressInterval)!, TimeSpan.FromDays(1), out var interval)
                    ? (int)interval.TotalMilliseconds
                    : -1,
                AuthTokenTtlMs = Synod.Chaos.DurationText.TryParse(parse.GetValue(authTokenTtl)!, TimeSpan.FromDays(2), out var tokenTtl)
                    ? (int)tokenTtl.TotalMilliseconds
                    : -1,
                ShutdownDrainMs = parse.GetValue(shutdownDrain) is "0" ? 0
                    : Synod.Chaos.DurationText.TryParse(parse.GetValue(shutdownDrain)!, TimeSpan.FromDays(1), out var drain) ? (int)drain.TotalMilliseconds
                    : -1,
            };
            try
            {
                options.Validate();
                if (joined is { Voter: true } && options.OpenMode == StorageOpenMode.NewCluster)
                {
                    // A voter that starts with no state would answer as if it had promised and accepted nothing.
                    Console.Error.WriteLine($"error: replica {options.Id} is a voter of the cluster and would start with no state: a voter that lost its data must be removed (synod member remove {options.Id}) and a new replica added with a new id.");
                    return ExitCodes.InvalidInput;
                }

                if (options.OpenMode == StorageOpenMode.RebuildFromPeers)
                {
                    try
                    {
                        if (await RebuildCheck.RefusalAsync(options.Id, options.Endpoints, ownTls, cancellation) is { } refusal)
                        {
                            Console.Error.WriteLine($"error: {refusal}");
                            return ExitCodes.InvalidInput;
                        }
                    }
                    catch (Synod.Client.SynodException e)
                    {
                        Console.Error.WriteLine($"error: {e.Message}");
                        return ExitCodes.Unreachable;
                    }
                }

                if (joined is not null && joined.ClusterId != options.ClusterId)
                {
                    Console.Error.WriteLine($"error: replica {options.Id} cannot join: the cluster's id is {joined.ClusterId:x16} and this replica's would be {options.ClusterId:x16}; give the cluster's --cluster-token.");
                    return ExitCodes.InvalidInput;
                }

                if (options.OpenMode == StorageOpenMode.NewCluster && options.ClusterToken == ServerOptions.ClusterTokenDefault && joined is null)
                {
                    Console.Error.WriteLine(
                        $"warning: replica {options.Id} starts a new cluster with the default --cluster-token \"{ServerOptions.ClusterTokenDefault}\": any other cluster of the same replica ids started so has the same cluster id, and its replicas are not told apart from this one's. Give each cluster its own --cluster-token (the same on all its replicas).");
                }

                if (parse.GetValue(restamp))
                {
                    try
                    {
                        var before = ReplicaStorage.RestampClusterId(new RealDisk(), options.DataDir, options.Id, options.ClusterId);
                        Console.Error.WriteLine($"replica {options.Id}: {options.DataDir} stamped with cluster {options.ClusterId:x16} (it named {before:x16}).");
                    }
                    catch (StorageException e)
                    {
                        Console.Error.WriteLine($"error: {e.Message}");
                        return ExitCodes.InvalidInput;
                    }
                }

                using var recordStop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                var recording = joined is null ? Task.CompletedTask : Task.Run(() => joined.RecordWhenInitialisedAsync(options.DataDir, recordStop.Token), CancellationToken.None);
                try
                {
                    await SynodServer.RunAsync(options, cancellation);
                }
                finally
                {
                    await recordStop.CancelAsync();
                    try
                    {
                        await recording;
                    }
                    catch (OperationCanceledException)
                    {
                        // Stopped before the directory was initialised: nothing to record.
                    }
                }

                return ExitCodes.Ok;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }
            catch (StorageException e)
            {
                Console.Error.WriteLine($"error: replica {options.Id} cannot start: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                var cause = e.InnerException is { } inner ? $" ({inner.Message})" : "";
                Console.Error.WriteLine($"error: replica {options.Id} cannot start: {e.Message}{cause}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    /// <summary>The peer certificates, checked against the CA and --id; null with --insecure-peers, or when none are given (which Validate refuses with the way out).</summary>
    private static PeerCredentials? LoadCredentials(string? certificate, string? key, string? authority, bool insecure, int id)
    {
        var given = new[] { certificate, key, authority }.Count(path => path is not null);
        if (given == 0)
        {
            return null;
        }

        if (insecure)
        {
            throw new ArgumentException("give --peer-cert, --peer-key and --peer-ca, or --insecure-peers, not both.");
        }

        if (given < 3)
        {
            throw new ArgumentException("give all three of --peer-cert, --peer-key and --peer-ca (./synod certs --out DIR makes them).");
        }

        return PeerCredentials.Load(certificate!, key!, authority!, id);
    }

    /// <summary>
    /// How this replica calls the other replicas' client port itself (serve --join, the rebuild check): over TLS when it
    /// serves clients over TLS, as the cluster's replicas all do then, trusting the cluster's CA (--peer-ca, else
    /// --tls-client-ca) and showing its own replica certificate, which a replica asking for client certificates accepts
    /// when one CA issues both.
    /// </summary>
    private static SynodClientTls? OwnClientTls(string? serving, string? authority, string? certificate, string? key)
    {
        if (serving is null)
        {
            return null;
        }

        var showsCertificate = certificate is not null && key is not null;
        return SynodClientTls.FromPemFiles(authority, showsCertificate ? certificate : null, showsCertificate ? key : null);
    }

    /// <summary>TLS for clients, or null when neither --tls-cert nor --tls-key is given.</summary>
    private static ClientTls? LoadClientTls(string? certificate, string? key, string? clientAuthority)
    {
        if (certificate is null && key is null)
        {
            return clientAuthority is null ? null : throw new ArgumentException("--tls-client-ca needs --tls-cert and --tls-key: client certificates are asked for in a TLS handshake.");
        }

        if (certificate is null || key is null)
        {
            throw new ArgumentException("give --tls-cert and --tls-key together: the certificate clients are shown and its private key.");
        }

        return ClientTls.Load(certificate, key, clientAuthority);
    }

    /// <summary>--preferred-leader: largest-id, none, or a replica id; null if it is none of those.</summary>
    public static int? ParsePreferredLeader(string text) => text switch
    {
        "largest-id" => Synod.Core.ReplicaOptions.PreferLargestId,
        "none" => Synod.Core.ReplicaOptions.PreferNone,
        _ when int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id >= 1 && id <= Synod.Core.Configuration.ReplicaIdMax => id,
        _ => null,
    };

    private static Dictionary<int, string> ParseRoutes(string? text)
    {
        var routes = new Dictionary<int, string>();
        foreach (var entry in text is null ? [] : ClusterConfig.ParseIdEndpoints(text))
        {
            if (!routes.TryAdd(entry.Id, entry.Endpoint))
            {
                throw new FormatException($"replica {entry.Id} is routed twice; give each peer one route.");
            }
        }

        return routes;
    }

    private static bool IsEmptyDirectory(string path) => !Directory.Exists(path) || !Directory.EnumerateFileSystemEntries(path).Any();

    internal static ClusterConfig LoadCluster(string? peers, string? config)
    {
        if (peers is not null && config is not null)
        {
            throw new FormatException("give either --peers or --config, not both.");
        }

        if (peers is not null)
        {
            return ClusterConfig.ParsePeers(peers);
        }

        if (config is not null)
        {
            return ClusterConfig.Load(config);
        }

        throw new FormatException("say which replicas form the cluster: --peers 1=HOST:PORT,2=HOST:PORT,... or --config cluster.json.");
    }
}
