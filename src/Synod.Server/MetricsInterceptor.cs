using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Synod.Server;

/// <summary>
/// Counts and times every unary client request by method and result ("ok", or the gRPC status it was answered with):
/// synod_client_requests and synod_client_request_duration (docs/operations.md, "Metrics").
/// </summary>
internal sealed class MetricsInterceptor(ReplicaMetrics metrics) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var started = TimeProvider.System.GetTimestamp();
        var method = MethodOf(context.Method);
        var result = "ok";
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException e)
        {
            result = ResultOf(e.StatusCode);
            throw;
        }
        catch (OperationCanceledException)
        {
            result = "cancelled";
            throw;
        }
        catch
        {
            result = "internal";
            throw;
        }
        finally
        {
            var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
            metrics.ClientRequests.Add(1, metrics.Replica, new("method", method), new("result", result));
            metrics.ClientRequestSeconds.Record(seconds, metrics.Replica, new("method", method));
            if (method != "Status")
            {
                metrics.RecentRequests.Record(seconds * 1000);
            }
        }
    }

    /// <summary>"/synod.Kv/Put" gives "Put": the method's own name, one of a fixed few.</summary>
    private static string MethodOf(string path) => path.LastIndexOf('/') is var slash && slash >= 0 ? path[(slash + 1)..] : path;

    /// <summary>A status as Prometheus labels usually spell it: "not_found", "permission_denied".</summary>
    private static string ResultOf(StatusCode code) => code switch
    {
        StatusCode.OK => "ok",
        StatusCode.InvalidArgument => "invalid_argument",
        StatusCode.NotFound => "not_found",
        StatusCode.AlreadyExists => "already_exists",
        StatusCode.PermissionDenied => "permission_denied",
        StatusCode.Unauthenticated => "unauthenticated",
        StatusCode.FailedPrecondition => "failed_precondition",
        StatusCode.OutOfRange => "out_of_range",
        StatusCode.ResourceExhausted => "resource_exhausted",
        StatusCode.Unavailable => "unavailable",
        StatusCode.DeadlineExceeded => "deadline_exceeded",
        StatusCode.Cancelled => "cancelled",
        StatusCode.Aborted => "aborted",
        StatusCode.Unimplemented => "unimplemented",
        _ => "internal",
    };
}
