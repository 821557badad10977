using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Synod.Server;

/// <summary>
/// The Prometheus text endpoint (`serve --http HOST:PORT`, path /metrics): OpenTelemetry's Prometheus exporter over
/// Synod's meter (<see cref="ReplicaMetrics"/>), the .NET runtime's (garbage collection, memory, thread pool) and
/// Kestrel's (connections).
/// </summary>
internal static class MetricsExport
{
    /// <summary>Adds the metrics pipeline: the instruments of <see cref="ReplicaMetrics.MeterName"/> and the runtime's, read at each scrape.</summary>
    public static void AddTo(IServiceCollection services) =>
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ReplicaMetrics.MeterName, "Microsoft.AspNetCore.Server.Kestrel")
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());

    /// <summary>Serves /metrics on the --http port only (the client port speaks gRPC alone).</summary>
    public static void Map(IEndpointRouteBuilder app, int port) => app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{port}");
}
