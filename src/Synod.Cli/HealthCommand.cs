using System.CommandLine;
using System.Text.Json;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Synod.Cli;

/// <summary>
/// `synod health`: asks one replica's standard gRPC health service whether it serves (its state loaded), for container
/// health checks and scripts: exit 0 when it does, 4 when it answers that it does not yet, 5 when it cannot be reached.
/// </summary>
internal static class HealthCommand
{
    public static Command Create()
    {
        var endpoint = new Option<string>("--endpoint") { Description = "HOST:PORT of the replica to ask.", DefaultValueFactory = _ => "127.0.0.1:7001" };
        var timeout = new Option<string>("--timeout") { Description = "Give up after this long (2s, 500ms).", DefaultValueFactory = _ => "2s" };
        var tls = new Option<bool>("--tls") { Description = "The replica serves clients over TLS (serve --tls-cert); its certificate is checked against the system's CAs unless --cacert is given." };
        var cacert = new Option<string?>("--cacert") { Description = "Trust this CA (PEM) for the replica's certificate; implies --tls." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: endpoint, serving, status." };
        var command = new Command("health", "Ask one replica's gRPC health service whether it serves (exit 0), not yet (4) or cannot be reached (5).")
        {
            endpoint, timeout, tls, cacert, json,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var target = parse.GetValue(endpoint)!;
            if (!Protocol.HostPort.TryParse(target, out _, out _, out var problem))
            {
                Console.Error.WriteLine($"error: --endpoint {problem}");
                return ExitCodes.InvalidInput;
            }

            if (!Chaos.DurationText.TryParse(parse.GetValue(timeout)!, TimeSpan.FromMinutes(1), out var limit) || limit <= TimeSpan.Zero)
            {
                Console.Error.WriteLine($"error: --timeout '{parse.GetValue(timeout)}' is not a duration up to 1m; give one such as 2s or 500ms.");
                return ExitCodes.InvalidInput;
            }

            var useTls = parse.GetValue(tls) || parse.GetValue(cacert) is not null;
            var handler = new SocketsHttpHandler { ConnectTimeout = limit };
            if (parse.GetValue(cacert) is { } caPath)
            {
                try
                {
                    var authorities = Protocol.TlsCertificates.LoadAuthorities(caPath, "--cacert");
                    handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                        certificate is System.Security.Cryptography.X509Certificates.X509Certificate2 presented &&
                        Protocol.TlsCertificates.ChainProblem(presented, authorities, [Protocol.TlsCertificates.ServerAuth]) is null;
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return ExitCodes.InvalidInput;
                }
            }

            using var channel = GrpcChannel.ForAddress($"{(useTls ? "https" : "http")}://{target}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
            string status;
            int exit;
            try
            {
                var answer = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + limit, cancellationToken: cancellation);
                status = answer.Status.ToString().ToLowerInvariant();
                exit = answer.Status == HealthCheckResponse.Types.ServingStatus.Serving ? ExitCodes.Ok : ExitCodes.Unavailable;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"error: replica at {target} did not answer its health check: {(e.StatusCode == StatusCode.DeadlineExceeded ? $"no answer within {limit.TotalMilliseconds:0} ms" : e.Status.Detail)}");
                status = "unreachable";
                exit = ExitCodes.Unreachable;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { endpoint = target, serving = exit == ExitCodes.Ok, status }));
            }
            else if (exit != ExitCodes.Unreachable)
            {
                Console.WriteLine($"{target}: {status}");
                if (exit != ExitCodes.Ok)
                {
                    Console.Error.WriteLine($"error: replica at {target} is not serving yet ({status}): it is still loading its state; ask again in a moment.");
                }
            }

            return exit;
        });
        return command;
    }
}
