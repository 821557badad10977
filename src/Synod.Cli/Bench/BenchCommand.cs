using System.CommandLine;
using System.Globalization;
using Synod.Bench;
using Synod.Chaos;

namespace Synod.Cli.Bench;

/// <summary>
/// `synod bench`: a closed-loop load generator with HdrHistogram latencies, for Synod, for etcd (same generator,
/// dotnet-etcd client) and for `synod bench-echo` (the gRPC ceiling). See docs/performance.md.
/// </summary>
public static class BenchCommand
{
    public const string EtcdEndpointDefault = "127.0.0.1:2379";

    public static Command Create()
    {
        var shared = new ClientCommandOptions();
        var target = new Option<string>("--target") { Description = "synod, etcd (dotnet-etcd client) or echo (`synod bench-echo`, the gRPC ceiling).", DefaultValueFactory = _ => "synod" };
        var mode = new Option<string>("--mode") { Description = "put, get (linearizable), get-stale (Synod stale / etcd serializable), mixed, cas (compare-and-swap on the key's mod revision: Synod's conditional put, etcd's txn) range (linearizable reads of 100 keys) watch (--clients watchers of one prefix while --rate writes/s land; delivery latency from write acknowledged to change received), lock (--clients loops hand one lock on: acquire then release) or lease (keep-alives of --leases leases; reports how many are still live at the end).", DefaultValueFactory = _ => "put" };
        var clients = new Option<int>("--clients") { Description = "Requests in flight at once (closed loop).", DefaultValueFactory = _ => 16 };
        var conns = new Option<int?>("--conns") { Description = "Client instances, each with its own connections, that the clients share (default: clients/32, at least 1)." };
        var ops = new Option<long>("--ops") { Description = "Stop after this many operations ...", DefaultValueFactory = _ => 10_000_000 };
        var duration = new Option<string>("--duration") { Description = "... or after this long (10s, 1m), whichever comes first.", DefaultValueFactory = _ => "10s" };
        var warmup = new Option<string?>("--warmup") { Description = "Uncounted load before measuring (2s, 500ms); default none." };
        var keySize = new Option<int>("--key-size") { Description = "Key length in bytes.", DefaultValueFactory = _ => 16 };
        var valueSize = new Option<int>("--value-size") { Description = "Value length in bytes.", DefaultValueFactory = _ => 256 };
        var keySpace = new Option<int>("--key-space") { Description = "Distinct keys, picked at random; reads first put each once.", DefaultValueFactory = _ => 1000 };
        var fill = new Option<bool>("--fill") { Description = "Put every key of --key-space once before warming up, in any mode (reads always do): to measure a store that holds that many keys." };
        var filled = new Option<bool>("--filled") { Description = "Every key of --key-space is there already (an earlier run's --fill): reads do not put them first." };
        var rate = new Option<int>("--rate") { Description = "For --mode watch: writes per second under the watched prefix.", DefaultValueFactory = _ => 1000 };
        var readRatio = new Option<double>("--read-ratio") { Description = "For --mode mixed: the fraction of reads.", DefaultValueFactory = _ => 0.9 };
        var leases = new Option<int>("--leases") { Description = "For --mode lease: leases granted first and kept alive during the run.", DefaultValueFactory = _ => 10_000 };
        var leaseTtl = new Option<long>("--lease-ttl") { Description = "For --mode lease: their TTL in seconds.", DefaultValueFactory = _ => 30 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (ops_per_sec, p50_ms, p99_ms, errors, ...) instead of text." };
        var command = new Command("bench", "Measure throughput and latency of puts and gets against Synod, etcd or the gRPC echo ceiling.")
        {
            target, mode, clients, conns, ops, duration, warmup, keySize, valueSize, keySpace, fill, filled, readRatio, rate, leases, leaseTtl, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction(async (parse, cancellation) =>
        {
            BenchSettings settings;
            try
            {
                var kind = ParseTarget(parse.GetValue(target)!);
                var (endpoints, source) = ResolveEndpoints(kind, parse.GetValue(shared.Endpoints), parse.GetValue(shared.DataDir));
                var clientCount = parse.GetValue(clients);
                settings = new BenchSettings
                {
                    Target = kind,
                    Endpoints = endpoints,
                    EndpointsSource = source,
                    Tls = parse.GetValue(shared.CaCert) is null && parse.GetValue(shared.Cert) is null ? null
                        : Synod.Client.SynodClientTls.FromPemFiles(parse.GetValue(shared.CaCert), parse.GetValue(shared.Cert), parse.GetValue(shared.Key)),
                    Mode = ParseMode(parse.GetValue(mode)!),
                    Clients = clientCount,
                    Conns = parse.GetValue(conns) ?? Math.Max(1, clientCount / ClientsPerConnDefault),
                    Ops = parse.GetValue(ops),
                    Duration = DurationText.Parse(parse.GetValue(duration)!),
                    Warmup = parse.GetValue(warmup) is { } w ? DurationText.Parse(w) : TimeSpan.Zero,
                    KeyBytes = parse.GetValue(keySize),
                    ValueBytes = parse.GetValue(valueSize),
                    KeySpace = parse.GetValue(keySpace),
                    Fill = parse.GetValue(fill),
                    Filled = parse.GetValue(filled),
                    ReadRatio = parse.GetValue(readRatio),
                    WatchWriteRate = parse.GetValue(rate),
                    Leases = parse.GetValue(leases),
                    LeaseTtlSeconds = parse.GetValue(leaseTtl),
                    OperationTimeout = ClientCommandContext.ParseTimeout(parse.GetValue(shared.Timeout)),
                    Json = parse.GetValue(json),
                };
                settings.Validate();
            }
            catch (Exception e) when (e is FormatException or ArgumentException or ClientInputException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            return await BenchSession.RunAsync(settings, cancellation);
        });
        return command;
    }

    /// <summary>One client instance per this many clients unless --conns says otherwise: HTTP/2 multiplexes the rest.</summary>
    private const int ClientsPerConnDefault = 32;

    private static BenchTargetKind ParseTarget(string text) => text.Trim().ToLowerInvariant() switch
    {
        "synod" => BenchTargetKind.Synod,
        "etcd" => BenchTargetKind.Etcd,
        "echo" => BenchTargetKind.Echo,
        _ => throw new FormatException($"--target '{text}' is not one of synod, etcd, echo."),
    };

    private static BenchMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "put" => BenchMode.Put,
        "get" => BenchMode.Get,
        "get-stale" => BenchMode.GetStale,
        "mixed" => BenchMode.Mixed,
        "cas" => BenchMode.Cas,
        "range" => BenchMode.Range,
        "watch" => BenchMode.Watch,
        "lock" => BenchMode.Lock,
        "lease" => BenchMode.Lease,
        _ => throw new FormatException($"--mode '{text}' is not one of put, get, get-stale, mixed, cas, range, watch, lock, lease."),
    };

    private static (IReadOnlyList<string> Endpoints, string Source) ResolveEndpoints(BenchTargetKind kind, string? endpoints, string? dataDir)
    {
        if (kind == BenchTargetKind.Synod)
        {
            var context = ClientCommandContext.Resolve(endpoints, dataDir);
            return ([.. context.Cluster.Replicas.Select(r => r.Endpoint)], context.Source);
        }

        if (endpoints is null)
        {
            var fallback = kind == BenchTargetKind.Etcd ? EtcdEndpointDefault : $"127.0.0.1:{BenchEchoCommand.PortDefault.ToString(CultureInfo.InvariantCulture)}";
            return ([fallback], "the default for --target " + kind.ToString().ToLowerInvariant());
        }

        var list = endpoints.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return (list, "--endpoints");
    }
}
