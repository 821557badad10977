using System.Net.Sockets;
using Grpc.Core;
using Synod.Client;

namespace Synod.Tests.Client;

public sealed class RpcFailureTests
{
    [Fact]
    public void A_refused_connection_never_reached_a_replica()
    {
        var refused = new RpcException(new Status(
            StatusCode.Unavailable, RpcFailure.SubchannelConnectDetail, new SocketException((int)SocketError.ConnectionRefused)));

        Assert.Equal(RpcFailureKind.ConnectFailed, RpcFailure.Classify(refused));
        Assert.Equal("connection refused", RpcFailure.Describe(refused, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_connection_error_from_the_http_stack_never_reached_a_replica()
    {
        var error = new HttpRequestException(HttpRequestError.ConnectionError, "refused");
        var refused = new RpcException(new Status(StatusCode.Unavailable, "Error starting gRPC call.", error));

        Assert.Equal(RpcFailureKind.ConnectFailed, RpcFailure.Classify(refused));
    }

    [Fact]
    public void A_failed_tls_handshake_never_reached_a_replica_and_a_connection_closed_before_http2_began_may_have_and_both_say_what_to_check()
    {
        var rejected = new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call.", new HttpRequestException(
            HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.",
            new System.Security.Authentication.AuthenticationException("The remote certificate was rejected by the provided RemoteCertificateValidationCallback."))));
        var closed = new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call.", new HttpRequestException(
            "An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.")));
        var internalError = new RpcException(new Status(StatusCode.Internal, "a replica's own failure"));

        Assert.Equal(RpcFailureKind.ConnectFailed, RpcFailure.Classify(rejected));
        Assert.Contains("is --cacert the CA that issued it", RpcFailure.Describe(rejected, TimeSpan.FromSeconds(2)), StringComparison.Ordinal);
        // The client may have written its request before the close: a write's outcome is then unknown.
        Assert.Equal(RpcFailureKind.Unanswered, RpcFailure.Classify(closed));
        Assert.Contains("give --cert and --key", RpcFailure.Describe(closed, TimeSpan.FromSeconds(2)), StringComparison.Ordinal);
        Assert.Equal(RpcFailureKind.Unexpected, RpcFailure.Classify(internalError));
    }

    [Fact]
    public void Unavailable_sent_by_a_replica_is_a_refusal_to_retry_elsewhere()
    {
        var noQuorum = new RpcException(new Status(StatusCode.Unavailable, "no quorum: ..."));

        Assert.Equal(RpcFailureKind.Refused, RpcFailure.Classify(noQuorum));
    }

    [Fact]
    public void A_connection_lost_mid_call_may_have_delivered_the_request()
    {
        var reset = new RpcException(new Status(
            StatusCode.Unavailable, "Error reading next message.", new IOException("reset", new SocketException((int)SocketError.ConnectionReset))));

        Assert.Equal(RpcFailureKind.Unanswered, RpcFailure.Classify(reset));
    }

    [Fact]
    public void A_passed_attempt_deadline_is_unanswered()
    {
        var deadline = new RpcException(new Status(StatusCode.DeadlineExceeded, ""));

        Assert.Equal(RpcFailureKind.Unanswered, RpcFailure.Classify(deadline));
        Assert.Equal("no answer within 2.0 s", RpcFailure.Describe(deadline, TimeSpan.FromSeconds(2)));
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument, nameof(RpcFailureKind.InvalidArgument))]
    [InlineData(StatusCode.NotFound, nameof(RpcFailureKind.NotFound))]
    [InlineData(StatusCode.FailedPrecondition, nameof(RpcFailureKind.SessionExpired))]
    [InlineData(StatusCode.ResourceExhausted, nameof(RpcFailureKind.Refused))]
    [InlineData(StatusCode.Internal, nameof(RpcFailureKind.Unexpected))]
    [InlineData(StatusCode.Unimplemented, nameof(RpcFailureKind.Unexpected))]
    public void Answers_are_told_apart_by_status_code(StatusCode code, string expected)
    {
        Assert.Equal(expected, RpcFailure.Classify(new RpcException(new Status(code, "text"))).ToString());
    }
}
