using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Synod.Server;

namespace Synod.Bench;

/// <summary>
/// `synod bench-echo`: a gRPC server with Synod's client API and the same Kestrel settings as a replica, answering
/// from memory (<see cref="EchoKvService"/>). Only for measuring the ceiling; it keeps nothing.
/// </summary>
public static class EchoServer
{
    /// <summary>What the echo server reports as the serving replica.</summary>
    public const uint ReplicaId = 1;

    /// <summary>A replica's default ClientStreamsPerConnectionMax.</summary>
    private const int StreamsPerConnectionMax = 128;

    public static async Task RunAsync(string listenEndpoint, Action<string> ready, CancellationToken cancellation)
    {
        var builder = SynodServer.NewBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.MaxStreamsPerConnection = StreamsPerConnectionMax;
            SynodServer.Listen(kestrel, listenEndpoint);
        });
        builder.Services.AddGrpc();
        await using var app = builder.Build();
        app.MapGrpcService<EchoKvService>();
        await app.StartAsync(cancellation);
        ready($"echo server on {listenEndpoint}: Synod's client API answered from memory, no consensus or disk. Ctrl+C stops it.");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellation);
        }
        catch (OperationCanceledException)
        {
            // Asked to stop.
        }

        await app.StopAsync(CancellationToken.None);
    }
}
