using Synod.Cli;
using Synod.Client;

namespace Synod.Tests.Client;

/// <summary>Each kind of client failure reaches a script as its own exit code and a person as one line.</summary>
public sealed class ClientErrorsTests
{
    private static readonly FailureSummary Summary = new(TimeSpan.FromSeconds(10), 3, OutcomeUnknown: true, "no quorum", "127.0.0.1:7001", null);

    public static TheoryData<Exception, int> Failures() => new()
    {
        { new ClientInputException("--node 9 is not a replica."), ExitCodes.InvalidInput },
        { new SynodInvalidArgumentException("The key is empty."), ExitCodes.InvalidInput },
        { new SynodNotFoundException("k"u8.ToArray(), "key not found."), ExitCodes.NotFound },
        { new SynodUnavailableException("unavailable: ...", Summary), ExitCodes.Unavailable },
        { new SynodUnreachableException("no replica could be connected: ...", Summary), ExitCodes.Unreachable },
        { new SynodSessionExpiredException("session gone", outcomeUnknown: false), ExitCodes.Failure },
        { new SynodServerException("INTERNAL", Grpc.Core.StatusCode.Internal, outcomeUnknown: false), ExitCodes.Failure },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Every_kind_of_failure_has_its_exit_code(Exception failure, int expected)
    {
        Assert.Equal(expected, ClientErrors.ExitCode(failure));
    }

    [Fact]
    public void The_line_starts_with_error_and_is_one_line()
    {
        Assert.Equal("error: the key is empty; next line", ClientErrors.Line("The key is empty;\nnext line"));
    }

    [Fact]
    public void A_leading_name_keeps_its_capitals()
    {
        Assert.Equal("error: KeyBytesMax is 1024 bytes.", ClientErrors.Line("KeyBytesMax is 1024 bytes."));
    }
}
