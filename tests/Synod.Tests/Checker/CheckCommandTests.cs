using System.CommandLine;
using System.Text.Json;
using Synod.Checker;
using Synod.Cli;
using Synod.Tests.Storage;

namespace Synod.Tests.Checker;

/// <summary>`synod check FILE` run in-process: the summary, the counterexample and an exit code for each verdict.</summary>
public sealed class CheckCommandTests : IDisposable
{
    private const int LastReadOfXLine = 6;
    private const string Summary = "operations: 8 (ok 6, failed 1, unknown 1), keys: 2";

    // Two keys. On x: a put, a read concurrent with it that still sees absent, a read of the put, an overwrite
    // and a read of the overwrite. On y: an unknown put that a later read shows took effect, and a failed delete.
    private static readonly string[] LinearizableLines =
    [
        """{"client": 1, "op": "put", "key": "x", "value": "1", "invoke": 0.0, "complete": 1.0, "result": "ok", "outcome": "ok"}""",
        """{"client": 2, "op": "get", "key": "x", "value": null, "invoke": 0.5, "complete": 1.5, "result": null, "outcome": "ok"}""",
        """{"client": 2, "op": "get", "key": "x", "value": null, "invoke": 2.0, "complete": 2.5, "result": "1", "outcome": "ok"}""",
        """{"client": 1, "op": "put", "key": "x", "value": "2", "invoke": 3.0, "complete": 4.0, "result": "ok", "outcome": "ok"}""",
        """{"client": 3, "op": "put", "key": "y", "value": "a", "invoke": 3.5, "complete": null, "result": null, "outcome": "unknown"}""",
        """{"client": 2, "op": "get", "key": "x", "value": null, "invoke": 4.5, "complete": 5.0, "result": "2", "outcome": "ok"}""",
        """{"client": 1, "op": "delete", "key": "y", "value": null, "invoke": 6.0, "complete": 6.5, "result": null, "outcome": "fail"}""",
        """{"client": 2, "op": "get", "key": "y", "value": null, "invoke": 7.0, "complete": 7.5, "result": "a", "outcome": "ok"}""",
    ];

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Linearizable_history_exits_0_and_prints_one_summary_line()
    {
        var path = WriteHistory(LinearizableLines);

        var run = Check(path);

        Assert.Equal((ExitCodes.Ok, $"{Summary}, linearizable: yes\n", ""), run);
    }

    [Fact]
    public void Read_of_a_value_never_written_exits_1_and_prints_the_failing_key_and_operations()
    {
        var path = WriteHistory(WithLastReadOfX("ghost"));

        var run = Check(path);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal("", run.Stderr);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"{Summary}, linearizable: no", lines[0]);
        Assert.Contains("key \"x\"", lines[1], StringComparison.Ordinal);
        Assert.Contains(lines, line => line.Contains("c2 get x -> ghost", StringComparison.Ordinal));
    }

    [Fact]
    public void Stale_read_after_a_completed_overwrite_exits_1_with_the_three_operations_that_show_it()
    {
        // "1" was overwritten by "2", which completed at 4.0, before this read began at 4.5.
        var path = WriteHistory(WithLastReadOfX("1"));

        var run = Check(path);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        var expected =
            $"{Summary}, linearizable: no\n" +
            "counterexample: key \"x\", 3 operations with no linearization ([invoke, complete] times):\n" +
            "  c1 put x=1    [0.000, 1.000] ok\n" +
            "  c1 put x=2    [3.000, 4.000] ok\n" +
            "  c2 get x -> 1 [4.500, 5.000] ok\n";
        Assert.Equal(expected, run.Stdout);
    }

    [Theory]
    [InlineData("""{"client": 2, "op": "get", "key": "x", "invoke": 2.0, "complete": 2.5, "result": "1", "outcome": "ok" """, "not valid JSON")]
    [InlineData("""{"client": 2, "op": "get", "key": "x", "invoke": "soon", "complete": 2.5, "result": "1", "outcome": "ok"}""", "\"invoke\" must be a number")]
    [InlineData("""{"client": 2, "op": "get", "invoke": 2.0, "complete": 2.5, "result": "1", "outcome": "ok"}""", "\"key\" is missing")]
    [InlineData("""{"client": 2, "op": "get", "key": "x", "invoke": 2.0, "complete": 2.5, "result": "1", "outcome": "maybe"}""", "\"outcome\" is \"maybe\"")]
    public void Malformed_line_exits_2_with_one_error_line_naming_the_file_the_line_and_the_problem(string badLine, string problem)
    {
        var lines = (string[])LinearizableLines.Clone();
        lines[2] = badLine;
        var path = WriteHistory(lines);

        var run = Check(path);

        AssertInvalidInput(run, path);
        Assert.Contains($"{path}, line 3: ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(problem, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_exits_2_and_names_it()
    {
        var path = Path.Combine(_directory.Path, "no-such-history.jsonl");

        AssertInvalidInput(Check(path), path);
    }

    [Theory]
    [InlineData(new string[0], "Required argument 'file' missing")]
    [InlineData(new[] { "FILE", "extra" }, "unexpected argument 'extra'")]
    [InlineData(new[] { "FILE", "--no-such-option" }, "unexpected argument '--no-such-option'")]
    [InlineData(new[] { "FILE", "--timeout" }, "--timeout")]
    [InlineData(new[] { "FILE", "--timeout", "0" }, "--timeout '0' is not a duration above 0")]
    [InlineData(new[] { "FILE", "--timeout", "soon" }, "--timeout 'soon' is not a duration")]
    public void Bad_usage_exits_2_never_1_which_would_mean_not_linearizable(string[] args, string mentions)
    {
        var path = WriteHistory(LinearizableLines);

        var run = Check([.. args.Select(arg => arg == "FILE" ? path : arg)]);

        AssertInvalidInput(run, mentions);
    }

    [Fact]
    public void Json_reports_the_counts_and_the_verdict_as_one_object()
    {
        var path = WriteHistory(LinearizableLines);

        var run = Check(path, "--json");

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Single(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var report = JsonDocument.Parse(run.Stdout);
        var root = report.RootElement;
        Assert.Equal((8, 6, 1, 1, 2), (Int(root, "operations"), Int(root, "ok"), Int(root, "failed"), Int(root, "unknown"), Int(root, "keys")));
        Assert.True(root.GetProperty("linearizable").GetBoolean());
        Assert.True(root.GetProperty("elapsed_ms").GetInt64() >= 0);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("counterexample").ValueKind);
    }

    [Fact]
    public void Json_counterexample_keeps_the_history_format_so_it_can_be_checked_again()
    {
        var path = WriteHistory(WithLastReadOfX("1"));

        var run = Check(path, "--json");

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        using var report = JsonDocument.Parse(run.Stdout);
        Assert.False(report.RootElement.GetProperty("linearizable").GetBoolean());
        var counterexample = report.RootElement.GetProperty("counterexample");
        Assert.Equal("x", counterexample.GetProperty("key").GetString());
        var operations = counterexample.GetProperty("operations").EnumerateArray().Select(op => op.GetRawText()).ToArray();
        Assert.Equal(3, operations.Length);

        var again = Check(WriteHistory(operations, "counterexample.jsonl"));

        Assert.Equal(ExitCodes.Failure, again.ExitCode);
        Assert.StartsWith("operations: 3 (ok 3, failed 0, unknown 0), keys: 1, linearizable: no\n", again.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Exhausted_budget_exits_with_its_own_code_and_reports_the_verdict_as_unknown()
    {
        var path = WriteHistory(LinearizableLines);
        var output = new StringWriter();
        var error = new StringWriter();

        var exitCode = CheckCommand.Run(path, json: false, TimeSpan.Zero, output, error);

        Assert.Equal(ExitCodes.Undecided, exitCode);
        Assert.StartsWith($"{Summary}, linearizable: unknown (search limit reached)\n", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--timeout", output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", error.ToString());
    }

    [Fact]
    public void Exhausted_budget_in_json_reports_linearizable_as_null()
    {
        var path = WriteHistory(LinearizableLines);
        var output = new StringWriter();

        var exitCode = CheckCommand.Run(path, json: true, TimeSpan.Zero, output, new StringWriter());

        Assert.Equal(ExitCodes.Undecided, exitCode);
        using var report = JsonDocument.Parse(output.ToString());
        Assert.Equal(JsonValueKind.Null, report.RootElement.GetProperty("linearizable").ValueKind);
    }

    [Fact]
    public void History_of_a_real_register_written_by_HistoryJsonl_checks_as_linearizable()
    {
        var history = RegisterHistoryGenerator.Generate(seed: 7, operations: 2_000, clients: 6, keys: 5);
        var path = Path.Combine(_directory.Path, "generated.jsonl");
        using (var writer = new StreamWriter(path))
        {
            HistoryJsonl.Write(writer, history);
        }
        var counts = HistorySummary.Of(history);

        var run = Check(path);

        var summary = $"operations: {counts.Operations} (ok {counts.Ok}, failed {counts.Failed}, unknown {counts.Unknown}), keys: {counts.Keys}";
        Assert.Equal((ExitCodes.Ok, $"{summary}, linearizable: yes\n"), (run.ExitCode, run.Stdout));
    }

    private static (int ExitCode, string Stdout, string Stderr) Check(params string[] args)
    {
        var root = new RootCommand { CheckCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = root.Parse(["check", .. args]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    private static void AssertInvalidInput((int ExitCode, string Stdout, string Stderr) run, string mentions)
    {
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(run.ExitCode == ExitCodes.InvalidInput, $"exit code {run.ExitCode}, expected {ExitCodes.InvalidInput}; stderr: {run.Stderr}");
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal), $"stderr should be one 'error:' line: {run.Stderr}");
        Assert.Contains(mentions, lines[0], StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    private static string[] WithLastReadOfX(string value)
    {
        var lines = (string[])LinearizableLines.Clone();
        lines[LastReadOfXLine - 1] = lines[LastReadOfXLine - 1].Replace("\"result\": \"2\"", $"\"result\": \"{value}\"", StringComparison.Ordinal);
        Assert.NotEqual(LinearizableLines[LastReadOfXLine - 1], lines[LastReadOfXLine - 1]);
        return lines;
    }

    private static int Int(JsonElement root, string name) => root.GetProperty(name).GetInt32();

    private string WriteHistory(IEnumerable<string> lines, string name = "history.jsonl")
    {
        var path = Path.Combine(_directory.Path, name);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }
}
