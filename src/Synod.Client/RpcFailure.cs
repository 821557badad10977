using System.Net.Sockets;
using Grpc.Core;

namespace Synod.Client;

/// <summary>Classifies a failed gRPC attempt and describes transport failures in a few words.</summary>
internal static class RpcFailure
{
    /// <summary>The detail Grpc.Net.Client gives a call whose connection could not be established.</summary>
    public const string SubchannelConnectDetail = "Error connecting to subchannel.";

    public static RpcFailureKind Classify(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.StatusCode switch
        {
            // ALREADY_EXISTS: a lease id or a user or role taken already; the request as given can never succeed.
            StatusCode.InvalidArgument or StatusCode.AlreadyExists => RpcFailureKind.InvalidArgument,
            StatusCode.NotFound => RpcFailureKind.NotFound,
            StatusCode.OutOfRange => RpcFailureKind.Compacted,
            StatusCode.FailedPrecondition => RpcFailureKind.SessionExpired,
            StatusCode.PermissionDenied => RpcFailureKind.PermissionDenied,
            StatusCode.Unauthenticated => RpcFailureKind.Unauthenticated,
            StatusCode.Unavailable or StatusCode.Internal when IsConnectFailure(exception) => RpcFailureKind.ConnectFailed,

            // Closed before the replica's first HTTP/2 frame: the request may have been written; ask elsewhere, outcome unknown.
            StatusCode.Unavailable or StatusCode.Internal when NoHttp2Handshake(exception) => RpcFailureKind.Unanswered,

            // A status a replica sent comes from its trailers and carries no local exception; one with a
            // local exception is the transport failing mid-call, after the request may have been sent.
            StatusCode.Unavailable when exception.Status.DebugException is not null => RpcFailureKind.Unanswered,
            StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.Aborted => RpcFailureKind.Refused,
            StatusCode.DeadlineExceeded or StatusCode.Cancelled => RpcFailureKind.Unanswered,
            _ => RpcFailureKind.Unexpected,
        };
    }

    /// <summary>The trailer of a compacted answer that names the oldest revision kept.</summary>
    public const string CompactRevisionTrailer = "synod-compact-revision";

    /// <summary>The oldest revision kept, from a compacted answer's trailer; 0 when it has none.</summary>
    public static long CompactRevision(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = exception.Trailers.GetValue(CompactRevisionTrailer);
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision) ? revision : 0;
    }

    /// <summary>True when the connection was never established, so the request cannot have reached the replica.</summary>
    public static bool IsConnectFailure(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception.StatusCode is StatusCode.Internal or StatusCode.Unavailable && FailedTls(exception) is not null)
        {
            // A TLS handshake that failed: no request byte was sent. (A connection closed before the replica's first
            // HTTP/2 frame is not counted so: the client may have written its request already, and a proxy in between
            // may have passed it on, so a write's outcome is then unknown.)
            return true;
        }

        if (exception.StatusCode != StatusCode.Unavailable)
        {
            return false;
        }

        if (exception.Status.Detail == SubchannelConnectDetail)
        {
            return true;
        }

        for (var inner = exception.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }

            if (inner is SocketException socket && IsConnectSocketError(socket.SocketErrorCode))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A short, lower-case description of a transport failure for messages and the status table:
    /// "connection refused", "host not found", "no answer within 2.0 s", or the gRPC detail.
    /// </summary>
    public static string Describe(RpcException exception, TimeSpan attemptTimeout)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception.StatusCode == StatusCode.DeadlineExceeded)
        {
            return $"no answer within {ClientText.Seconds(attemptTimeout)}";
        }

        if (FailedTls(exception) is { } tls)
        {
            return tls.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal)
                ? "TLS handshake failed: its certificate was not accepted (is --cacert the CA that issued it, and the host one it names?)"
                : $"TLS handshake failed ({tls.Message.Trim().TrimEnd('.')}; does it serve clients over TLS, and want a client certificate: --cert, --key?)";
        }

        for (var inner = exception.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return DescribeSocketError(socket.SocketErrorCode);
            }

            if (NoHttp2Handshake(exception))
            {
                return "it closed the connection before HTTP/2 began (it may serve clients over TLS only: give --cacert; or want a client certificate: give --cert and --key)";
            }
        }

        var detail = exception.Status.Detail;
        var text = string.IsNullOrWhiteSpace(detail) ? exception.StatusCode.ToString() : detail.Trim().TrimEnd('.');
        return exception.Status.DebugException is { } debug ? $"{text} ({debug.Message.Trim().TrimEnd('.')})" : text;
    }

    /// <summary>Whether the replica closed the connection before its first HTTP/2 frame ("did not complete the HTTP/2 handshake").</summary>
    private static bool NoHttp2Handshake(RpcException exception)
    {
        for (var inner = exception.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is IOException or HttpRequestException && inner.Message.Contains("did not complete the HTTP/2 handshake", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The failed TLS handshake behind <paramref name="exception"/> (a secure-connection error of the HTTP stack), or null.</summary>
    private static System.Security.Authentication.AuthenticationException? FailedTls(RpcException exception)
    {
        var secureConnection = false;
        for (var inner = exception.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            secureConnection |= inner is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError };
            if (inner is System.Security.Authentication.AuthenticationException tls && secureConnection)
            {
                return tls;
            }
        }

        return null;
    }

    private static bool IsConnectSocketError(SocketError error) => error is SocketError.ConnectionRefused
        or SocketError.HostNotFound or SocketError.HostUnreachable or SocketError.NetworkUnreachable
        or SocketError.AddressNotAvailable or SocketError.TryAgain or SocketError.NoData;

    private static string DescribeSocketError(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.ConnectionReset => "connection reset",
        SocketError.TimedOut => "connection timed out",
        _ => $"socket error {error}",
    };
}
