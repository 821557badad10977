using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// One replica process: Kestrel on one address for both the client API (HTTP/2 cleartext, with gRPC reflection and the
/// standard health service so generic gRPC tools can talk to it) and the peers' connections (<see cref="PeerWire"/>).
/// </summary>
public static class SynodServer
{
    /// <summary>Healthy once the replica's owner loop has loaded its state; until then not serving.</summary>
    private sealed class LoadedHealthCheck(ReplicaHost host) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
            Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(host.StateLoaded
                ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy()
                : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("still loading its state"));
    }

    /// <summary>How long a stopping replica waits for in-flight requests before it closes them.</summary>
    private const int ShutdownSecondsMax = 3;

    public static async Task RunAsync(ServerOptions options, CancellationToken cancellation)
    {
        options.Validate();
        var builder = NewBuilder();
        builder.Logging.ClearProviders();
        if (options.LogFormat == LogFormat.Json)
        {
            // One JSON object per line: timestamp, level, category, message and its named values (Id, Slot, ...).
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        // Hosting creates an Activity and a logging scope for every request while this category is enabled at any
        // level; nothing here reads them.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MaxConcurrentConnections = options.ConnectionsMax;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.ClientStreamsPerConnectionMax;
            // Peers' connections are told apart by their first bytes and never reach HTTP/2.
            Listen(kestrel, options.ListenEndpoint, listen =>
            {
                listen.Use(next => connection => kestrel.ApplicationServices.GetRequiredService<PeerReceiver>().OnConnectionAsync(connection, next));
                if (options.ClientTls is { } tls)
                {
                    // A client's TLS handshake passes the peer classifier ("other"); inside TLS its HTTP/2 frames are
                    // watched for the response budget as a plaintext client's are.
                    listen.UseHttps(tls.HttpsOptions(TimeSpan.FromMilliseconds(options.PeerHandshakeTimeoutMs)));
                    listen.Use(next => connection => kestrel.ApplicationServices.GetRequiredService<ResponseBudget>().WatchAsync(connection, next));
                }
            });
            if (options.HttpEndpoint is { } http)
            {
                // The operator's endpoint (/metrics): HTTP/1.1 for Prometheus and curl, apart from the client and peer port.
                Listen(kestrel, http, protocols: HttpProtocols.Http1, flag: "--http");
            }
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(ShutdownSecondsMax));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(provider => new ReplicaHost(options, provider.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<PeerReceiver>();
        builder.Services.AddSingleton<ResponseBudget>();
        builder.Services.AddSingleton(provider => new AuthGate(provider.GetRequiredService<ReplicaHost>(), options, TimeProvider.System,
            provider.GetRequiredService<ILoggerFactory>().CreateLogger($"replica-{options.Id}")));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.ClientRequestBytesMax;
            if (options.HttpEndpoint is not null)
            {
                // Only where something reads them: the interceptor costs every request an await and two clock reads.
                grpc.Interceptors.Add<MetricsInterceptor>();
            }
        });
        builder.Services.AddSingleton(provider => provider.GetRequiredService<ReplicaHost>().Metrics);
        if (options.HttpEndpoint is not null)
        {
            MetricsExport.AddTo(builder.Services);
            builder.Services.AddSingleton(provider => new Dashboard(provider.GetRequiredService<ReplicaHost>(), options));
        }
        builder.Services.AddGrpcReflection();
        // Serving once the replica has loaded its state (snapshot and log): what a container's health check and a
        // Kubernetes probe ask (`synod health`).
        builder.Services.AddGrpcHealthChecks().AddCheck<LoadedHealthCheck>("synod");

        await using var app = builder.Build();
        app.MapGrpcService<KvService>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        if (options.HttpEndpoint is { } httpEndpoint)
        {
            MetricsExport.Map(app, SplitEndpoint(httpEndpoint).Port);
            app.Services.GetRequiredService<Dashboard>().Map(app, SplitEndpoint(httpEndpoint).Port);
        }

        var host = app.Services.GetRequiredService<ReplicaHost>();
        var lifetime = app.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var removed = false;
        host.Removed += _ =>
        {
            Volatile.Write(ref removed, true);
            lifetime.StopApplication();
        };
        host.Start();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("synod");
        logger.LogInformation("replica {Id} serving clients ({Clients}) and peers on {Endpoint} (cluster of {Count}; data in {Dir}; peers {Peers})",
            options.Id, options.ClientTls is null ? "plaintext" : options.ClientTls.ClientAuthorities is null ? "TLS" : "TLS, with client certificates", options.ListenEndpoint, options.Endpoints.Count, options.DataDir,
            options.PeerCredentials is { } credentials ? $"authenticated by TLS as {credentials.Identity}" : "in plaintext");
        if (options.ClientTls is null && !Protocol.HostPort.IsLoopback(SplitEndpoint(options.ListenEndpoint).Host))
        {
            logger.LogWarning("replica {Id} serves clients in plaintext on {Endpoint}, which other machines can reach: anyone on the network can read and write its keys. Give it --tls-cert and --tls-key.",
                options.Id, options.ListenEndpoint);
        }

        if (options.InsecurePeers)
        {
            logger.LogWarning("replica {Id} runs with --insecure-peers: peer connections are neither authenticated nor encrypted, and any process that reaches {Endpoint} can speak as a replica. Use it only where nothing untrusted can reach the port.",
                options.Id, options.ListenEndpoint);
        }
        using var collectorStop = new CancellationTokenSource();
        var collector = CollectorMode.RunAsync(options.BackgroundGcHeapBytes, logger, collectorStop.Token);
        try
        {
            await app.StartAsync(CancellationToken.None);
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (cancellation.Register(() => stopping.TrySetResult()))
            await using (lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
            {
                await stopping.Task;
            }

            if (!Volatile.Read(ref removed) && options.ShutdownDrainMs > 0)
            {
                // Told to stop (SIGTERM or Ctrl-C, seen by the command line and by the host's console lifetime alike):
                // hand leadership over and answer what is held before the port closes. A replica removed from the
                // cluster has handed over already.
                using var drainLimit = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.ShutdownDrainMs * 2L));
                try
                {
                    logger.LogInformation("{Drain}", await host.DrainAsync(TimeSpan.FromMilliseconds(options.ShutdownDrainMs), drainLimit.Token));
                }
                catch (OperationCanceledException)
                {
                    logger.LogWarning("replica {Id} stopping: the owner loop did not answer within {Ms} ms; stopping without a handover", options.Id, options.ShutdownDrainMs * 2L);
                }
            }

            // Kestrel takes no new request from here on and waits for those it holds; they are answered while the
            // peers are still heard (a replica hears its peers only on their connections to it), then the peers go.
            var stopped = app.StopAsync(CancellationToken.None);
            if (!Volatile.Read(ref removed) && options.ShutdownDrainMs > 0)
            {
                try
                {
                    using var answeredLimit = new CancellationTokenSource(TimeSpan.FromSeconds(ShutdownSecondsMax));
                    await host.WaitAnsweredAsync(TimeSpan.FromSeconds(ShutdownSecondsMax - 1), answeredLimit.Token);
                }
                catch (OperationCanceledException)
                {
                    // The owner loop is gone or slow: close the peers now; Kestrel's own timeout ends what is left.
                }
            }

            host.ClosePeers();
            await stopped;
        }
        finally
        {
            await collectorStop.CancelAsync();
            await collector; // never throws (CollectorMode.RunAsync logs what fails)
            await host.DisposeAsync();
            logger.LogInformation("replica {Id} stopped cleanly", options.Id);
        }
    }

    /// <summary>
    /// A slim ASP.NET Core builder that watches no files. By default it watches its content root (the working
    /// directory) for changed settings files, with inotify over every subdirectory; `synod cluster` keeps its data in
    /// ./synod-data, so every log write woke a watcher thread in every replica (11% of a follower's CPU under load,
    /// by perf). Synod reads no settings files, so the content root is the program's own folder and nothing reloads.
    /// </summary>
    internal static WebApplicationBuilder NewBuilder() => WebApplication.CreateSlimBuilder(new WebApplicationOptions
    {
        ContentRootPath = AppContext.BaseDirectory,
        Args = ["--hostBuilder:reloadConfigOnChange=false"],
    });

    /// <summary>The host (an IPv6 address without its brackets) and port of a "host:port" endpoint ServerOptions has checked.</summary>
    internal static (string Host, int Port) SplitEndpoint(string endpoint) =>
        Protocol.HostPort.TryParse(endpoint, out var host, out var port, out var problem) ? (host, port) : throw new ArgumentException(problem);

    internal static void Listen(KestrelServerOptions kestrel, string endpoint, Action<ListenOptions>? configure = null, HttpProtocols protocols = HttpProtocols.Http2, string flag = "--listen")
    {
        var (host, port) = SplitEndpoint(endpoint);
        void Http2(ListenOptions listen)
        {
            listen.Protocols = protocols;
            configure?.Invoke(listen);
        }

        if (host is "localhost")
        {
            kestrel.ListenLocalhost(port, Http2);
        }
        else if (IPAddress.TryParse(host, out var address))
        {
            kestrel.Listen(address, port, Http2);
        }
        else
        {
            throw new ArgumentException($"{flag} {endpoint}: '{host}' is not an IP address or localhost; give the address to bind, for example 127.0.0.1:{port}.");
        }
    }
}
