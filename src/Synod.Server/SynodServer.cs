using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// One replica process: Kestrel serving HTTP/2 cleartext on one address for both the client API and the peer
/// streams, plus gRPC reflection and the standard health service so generic gRPC tools can talk to it.
/// </summary>
public static class SynodServer
{
    /// <summary>How long a stopping replica waits for in-flight requests before it closes them.</summary>
    private const int ShutdownSecondsMax = 3;

    public static async Task RunAsync(ServerOptions options, CancellationToken cancellation)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        // Hosting creates an Activity and a logging scope for every request while this category is enabled at any
        // level; nothing here reads them.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1024;
            Listen(kestrel, options.ListenEndpoint);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(ShutdownSecondsMax));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(provider => new ReplicaHost(options, provider.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = options.ClientRequestBytesMax)
            .AddServiceOptions<PeerService>(peer => peer.MaxReceiveMessageSize = options.PeerFrameBytesMax);
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck("synod", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());

        await using var app = builder.Build();
        app.MapGrpcService<KvService>();
        app.MapGrpcService<PeerService>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();

        var host = app.Services.GetRequiredService<ReplicaHost>();
        host.Start();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("synod");
        logger.LogInformation("replica {Id} serving clients and peers on {Endpoint} (cluster of {Count}; data in {Dir})",
            options.Id, options.ListenEndpoint, options.Endpoints.Count, options.DataDir);
        try
        {
            await app.RunAsync(cancellation);
        }
        finally
        {
            await host.DisposeAsync();
            logger.LogInformation("replica {Id} stopped cleanly", options.Id);
        }
    }

    internal static void Listen(KestrelServerOptions kestrel, string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = endpoint[..colon];
        var port = int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        void Http2(ListenOptions listen) => listen.Protocols = HttpProtocols.Http2;
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
            throw new ArgumentException($"--listen {endpoint}: '{host}' is not an IP address or localhost; give the address to bind, for example 127.0.0.1:{port}.");
        }
    }
}
