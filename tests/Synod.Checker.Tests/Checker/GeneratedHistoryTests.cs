using System.Diagnostics;
using Synod.Checker;
using Xunit.Abstractions;

namespace Synod.Tests.Checker;

/// <summary>Histories produced by a real register must pass; one corrupted read must fail.</summary>
public sealed class GeneratedHistoryTests
{
    private const int Seed = 20240611;
    private const int OperationCount = 10_000;
    private const int ClientCount = 8;
    private const int KeyCount = 10;

    private readonly ITestOutputHelper _output;

    public GeneratedHistoryTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public void History_of_a_real_register_is_linearizable()
    {
        var history = RegisterHistoryGenerator.Generate(Seed, OperationCount, ClientCount, KeyCount);

        var result = TimedCheck(history, "linearizable");

        Assert.True(result.Linearizable, LinearizabilityChecker.Describe(result.Counterexample));
        Assert.False(result.TimedOut);
    }

    [Fact]
    public void Same_history_with_one_read_of_a_value_never_written_is_not_linearizable()
    {
        var history = RegisterHistoryGenerator.Generate(Seed, OperationCount, ClientCount, KeyCount);
        var index = history.FindIndex(OperationCount / 2, op => op.Kind == OperationKind.Get && op.Outcome == Outcome.Ok);
        history[index] = history[index] with { Result = "never-written" };

        var result = TimedCheck(history, "corrupted");

        Assert.False(result.Linearizable);
        Assert.False(result.TimedOut);
        Assert.Equal(history[index].Key, result.FailingKey);
        Assert.Contains(history[index], result.Counterexample);
        Assert.False(LinearizabilityChecker.Check(result.Counterexample).Linearizable);
        _output.WriteLine(LinearizabilityChecker.Describe(result.Counterexample));
    }

    [Fact]
    public void Exhausted_budget_is_reported_as_timed_out_not_as_a_verdict()
    {
        var history = RegisterHistoryGenerator.Generate(Seed, OperationCount, ClientCount, KeyCount);

        var result = LinearizabilityChecker.Check(history, TimeSpan.Zero);

        Assert.True(result.TimedOut);
        Assert.False(result.Linearizable);
        Assert.Null(result.FailingKey);
    }

    private CheckResult TimedCheck(List<Operation> history, string label)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = LinearizabilityChecker.Check(history);
        _output.WriteLine($"{label}: {history.Count} operations, {result.OperationsChecked} checked, {stopwatch.Elapsed.TotalMilliseconds:F0} ms");
        return result;
    }
}
