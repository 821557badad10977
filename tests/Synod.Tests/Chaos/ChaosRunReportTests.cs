using Grpc.Core;
using Synod.Checker;
using Synod.Chaos;
using Synod.Client;

namespace Synod.Tests.Chaos;

/// <summary>The pure parts of `synod chaos`: its flags, how a failure is recorded, the no-write window and the report.</summary>
public sealed class ChaosRunReportTests
{
    [Theory]
    [InlineData("60", 60)]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("1m30s", 90)]
    [InlineData("500ms", 0.5)]
    [InlineData("1h", 3600)]
    public void Durations_read_as_seconds_minutes_or_hours(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), DurationText.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("0s")]
    [InlineData("-5")]
    [InlineData("10 parsecs")]
    [InlineData("s")]
    [InlineData("NaN")]
    [InlineData("1e300")]
    [InlineData("99999999999h")]
    public void A_duration_that_is_not_positive_is_refused_with_the_accepted_forms(string text) =>
        Assert.Contains("1m30s", Assert.Throws<FormatException>(() => DurationText.Parse(text)).Message);

    [Fact]
    public void Fault_kinds_parse_from_a_list_and_an_unknown_or_repeated_kind_is_named()
    {
        Assert.Equal(new HashSet<FaultKind> { FaultKind.Kill, FaultKind.Restart }, FaultKinds.Parse("kill, restart"));
        Assert.Contains("'flood'", Assert.Throws<FormatException>(() => FaultKinds.Parse("kill,flood")).Message);
        Assert.Contains("twice", Assert.Throws<FormatException>(() => FaultKinds.Parse("kill,kill")).Message);
    }

    [Fact]
    public void Options_refuse_an_even_cluster_and_a_restart_without_kills()
    {
        var valid = new ChaosOptions { ReplicaProgram = ["synod"] };
        valid.Validate();
        Assert.Contains("odd", Assert.Throws<ArgumentException>(() => (valid with { Replicas = 4 }).Validate()).Message);
        Assert.Contains("restart without kill", Assert.Throws<ArgumentException>(
            () => (valid with { Faults = new HashSet<FaultKind> { FaultKind.Restart } }).Validate()).Message);
    }

    [Fact]
    public void A_read_that_failed_is_a_failure_and_a_write_is_unknown_unless_the_client_knows_it_was_not_applied_even_when_unreachable()
    {
        var summary = new FailureSummary(TimeSpan.FromSeconds(1), 2, OutcomeUnknown: true, null, "127.0.0.1:1", "no answer");
        var unknown = new SynodUnavailableException("no quorum", summary);
        var notSent = new SynodUnreachableException("refused", summary with { OutcomeUnknown = false });

        Assert.Equal(Outcome.Fail, OutcomeRules.ForFailure(unknown, isWrite: false));
        Assert.Equal(Outcome.Unknown, OutcomeRules.ForFailure(unknown, isWrite: true));
        var sentThenCut = new SynodUnreachableException("refused on the retry", summary);
        Assert.Equal(Outcome.Fail, OutcomeRules.ForFailure(notSent, isWrite: true));
        Assert.Equal(Outcome.Unknown, OutcomeRules.ForFailure(sentThenCut, isWrite: true));
        Assert.Equal(Outcome.Fail, OutcomeRules.ForFailure(new SynodSessionExpiredException("gone", outcomeUnknown: false), isWrite: true));
        Assert.Equal(Outcome.Unknown, OutcomeRules.ForFailure(new SynodServerException("internal", StatusCode.Internal, outcomeUnknown: true), isWrite: true));
        Assert.Equal(Outcome.Unknown, OutcomeRules.ForFailure(new OperationCanceledException(), isWrite: true));
    }

    [Fact]
    public void The_longest_window_without_a_successful_write_counts_from_the_start_and_to_the_end_and_ignores_reads()
    {
        Operation[] history =
        [
            new(1, OperationKind.Put, "k", "a", null, 0.5, 1.0, Outcome.Ok),
            new(1, OperationKind.Get, "k", null, "a", 1.5, 5.0, Outcome.Ok),
            new(2, OperationKind.Put, "k", "b", null, 2.0, null, Outcome.Unknown),
            new(2, OperationKind.Delete, "k", null, null, 6.0, 7.0, Outcome.Ok),
        ];

        Assert.Equal(new WriteGap(1.0, 7.0), WriteGap.Longest(history, 0, 9));
        Assert.Equal(new WriteGap(0, 10), WriteGap.Longest([], 0, 10));
    }

    [Fact]
    public void The_report_is_one_self_contained_page_with_the_chart_and_every_fault()
    {
        var options = new ChaosOptions { ReplicaProgram = ["synod"], Seed = 3 };
        var result = new ChaosResult
        {
            Options = options,
            OperationsOk = 2,
            OperationsFailed = 0,
            OperationsUnknown = 1,
            Faults = new FaultCounts(1, 1, 1, 0, 1, 1, 0),
            WorkloadStart = 1,
            WorkloadEnd = 11,
            LongestWriteGap = new WriteGap(3, 8),
            ConvergenceSeconds = 0.5,
            Divergence = null,
            ConvergedSlot = 10,
            ConvergedKeys = 1,
            Linearizable = true,
            OperationsChecked = 3,
            Counterexample = "",
            History =
            [
                new(1, OperationKind.Put, "k0", "c1-1", null, 1.2, 1.3, Outcome.Ok),
                new(2, OperationKind.Get, "k0", null, "c1-1", 1.4, 1.5, Outcome.Ok),
                new(1, OperationKind.Put, "k0", "c1-2", null, 4, null, Outcome.Unknown),
            ],
            Timeline =
            [
                new(2, "kill", [3], false, "SIGKILL r3 pid 1 <script>"),
                new(3, "pause", [1, 2, 4], true, "SIGSTOP"),
                new(5, "resume", [1, 2, 4], false, "SIGCONT"),
                new(6, "partition", [5], false, "5 | 1,2,3,4"),
                new(7, "heal", [], false, "healed"),
                new(8, "restart", [3], false, "pid 2"),
            ],
            OutDir = null,
        };

        var html = ChaosReport.Render(result);

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal));
        Assert.Contains("kill r3", html);
        Assert.Contains("pause r1,2,4 (majority)", html);
        Assert.Contains("linearizable: yes", html);
    }
}
