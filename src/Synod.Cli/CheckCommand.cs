using System.Buffers;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Synod.Checker;

namespace Synod.Cli;

/// <summary>
/// `synod check FILE`: decides whether a recorded client history (JSON lines, <see cref="HistoryJsonl"/>), from
/// Synod or from anywhere else, is linearizable, and prints one summary line (one JSON object with --json).
/// Exit codes: 0 linearizable; 1 not linearizable, which is a finding about the history, as 1 is for diff and
/// cmp; 2 bad input, with one "error: ..." line on stderr; 6 (<see cref="ExitCodes.Undecided"/>) when the
/// search hit its time budget or memory cap before an answer.
/// </summary>
/// <remarks>
/// This type is the command's action, so that it can take the parser's errors: left to the parser they would
/// exit with 1, which for this command means "not linearizable".
/// </remarks>
public sealed class CheckCommand : SynchronousCommandLineAction
{
    public const double TimeoutSecondsDefault = 60;

    /// <summary>The longest --timeout accepted, in seconds: a check must end on its own.</summary>
    public const double TimeoutSecondsMax = 86_400;

    /// <summary>The largest history file read, in bytes; the whole history is held in memory while it is checked.</summary>
    public const long HistoryBytesMax = 1L << 30;

    private const string Usage = "synod check FILE [--json] [--timeout DURATION]";

    // 1 reports the history, not the tool: scripts test for it as they would for diff finding a difference.
    private const int NotLinearizableExitCode = ExitCodes.Failure;

    private readonly Argument<string> _file = new("file")
    {
        Description = "The history: one JSON object per line, {\"client\", \"op\", \"key\", \"value\", \"invoke\", \"complete\", \"result\", \"outcome\"}.",
    };

    private readonly Option<bool> _json = new("--json") { Description = "Print one JSON object instead of the summary line." };

    /// <summary>Parsed here, not by the parser, so that a bad value gets a sentence that says what is accepted.</summary>
    private readonly Option<string?> _timeout = new("--timeout")
    {
        HelpName = "duration",
        Description = $"Give up after this long (seconds, or 500ms, 10s, 1m) and report the verdict as unknown, exit code {ExitCodes.Undecided} (default {TimeoutSecondsDefault}).",
    };

    private CheckCommand()
    {
    }

    /// <summary>Takes the parser's errors, so that every kind of bad input exits with <see cref="ExitCodes.InvalidInput"/>.</summary>
    public override bool ClearsParseErrors => true;

    public static Command Create()
    {
        var action = new CheckCommand();
        var command = new Command("check", "Check a recorded client history for linearizability: exit 0 if it is, 1 if not (and print a short counterexample), 2 on bad input, 6 if undecided.")
        {
            action._file, action._json, action._timeout,
        };
        command.Action = action;
        return command;
    }

    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var error = parseResult.InvocationConfiguration.Error;
        var problem = FindUsageProblem(parseResult, out var budget);
        if (problem is not null)
        {
            error.WriteLine($"error: {problem}");
            return ExitCodes.InvalidInput;
        }
        return Run(parseResult.GetValue(_file)!, parseResult.GetValue(_json), budget, parseResult.InvocationConfiguration.Output, error);
    }

    /// <summary>Checks the history in <paramref name="path"/> within <paramref name="budget"/> and returns the exit code.</summary>
    public static int Run(string path, bool json, TimeSpan budget, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var problem = TryReadHistory(path, out var history);
        if (problem is not null)
        {
            error.WriteLine($"error: {problem}");
            return ExitCodes.InvalidInput;
        }

        var summary = HistorySummary.Of(history);
        var started = Stopwatch.GetTimestamp();
        var result = LinearizabilityChecker.Check(history, budget);
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (json)
        {
            output.WriteLine(Json(summary, result, elapsed));
        }
        else
        {
            WriteText(output, summary, result, elapsed >= budget ? budget : null);
        }

        if (result.TimedOut)
        {
            return ExitCodes.Undecided;
        }
        return result.Linearizable ? ExitCodes.Ok : NotLinearizableExitCode;
    }

    private string? FindUsageProblem(ParseResult parseResult, out TimeSpan budget)
    {
        budget = TimeSpan.FromSeconds(TimeoutSecondsDefault);
        if (parseResult.Errors.Count > 0)
        {
            return $"{parseResult.Errors[0].Message} Usage: {Usage}.";
        }
        if (parseResult.UnmatchedTokens.Count > 0)
        {
            return $"unexpected argument '{parseResult.UnmatchedTokens[0]}'; usage: {Usage}.";
        }
        var timeoutText = parseResult.GetValue(_timeout);
        if (timeoutText is null)
        {
            return null;
        }
        if (!Synod.Chaos.DurationText.TryParse(timeoutText, TimeSpan.FromSeconds(TimeoutSecondsMax), out var parsed))
        {
            return $"--timeout '{timeoutText}' is not a duration above 0 and at most {TimeoutSecondsMax} s; for example --timeout {TimeoutSecondsDefault} (seconds), {TimeoutSecondsDefault}s or 1m.";
        }

        budget = parsed;
        return null;
    }

    /// <summary>Reads the history, or returns a sentence naming the file and what is wrong with it.</summary>
    private static string? TryReadHistory(string path, out IReadOnlyList<Operation> history)
    {
        history = [];
        if (Directory.Exists(path))
        {
            return $"{path} is a directory; give a history file of JSON lines.";
        }
        if (!File.Exists(path))
        {
            return $"{path}: no such file.";
        }
        try
        {
            var bytes = new FileInfo(path).Length;
            if (bytes > HistoryBytesMax)
            {
                return $"{path} is {bytes} bytes; histories of at most {HistoryBytesMax} bytes (HistoryBytesMax) are checked, because the whole history is held in memory.";
            }
            using var reader = new StreamReader(path);
            history = HistoryJsonl.Read(reader);
            return null;
        }
        catch (FormatException e)
        {
            // The reader's message starts with "line N: " and says what is wrong there.
            var end = e.Message.EndsWith('.') || e.Message.EndsWith(')') ? "" : ".";
            return $"{path}, {e.Message}{end}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read {path}: {e.Message}";
        }
    }

    /// <param name="budgetSpent">The budget when it ran out during the check, else null.</param>
    private static void WriteText(TextWriter output, HistorySummary summary, CheckResult result, TimeSpan? budgetSpent)
    {
        var verdict = result.TimedOut ? "unknown (search limit reached)" : result.Linearizable ? "yes" : "no";
        output.WriteLine(
            $"operations: {summary.Operations} (ok {summary.Ok}, failed {summary.Failed}, unknown {summary.Unknown}), " +
            $"keys: {summary.Keys}, linearizable: {verdict}");
        if (result.TimedOut)
        {
            output.WriteLine(budgetSpent is TimeSpan budget
                ? $"The --timeout of {budget.TotalSeconds.ToString("0.#######", CultureInfo.InvariantCulture)} s ran out before every key was decided; a longer one may decide it."
                : "One key's search reached the checker's memory cap before deciding (a busy key with repeated values); see src/Synod.Checker/README.md, Limits.");
        }
        else if (result.FailingKey is string key)
        {
            var count = result.Counterexample.Count;
            output.WriteLine($"counterexample: key {Quote(key)}, {count} {(count == 1 ? "operation" : "operations")} with no linearization ([invoke, complete] times):");
            var lines = LinearizabilityChecker.Describe(result.Counterexample).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var line in lines)
            {
                output.WriteLine("  " + line);
            }
        }
    }

    /// <summary>
    /// One line: operations, ok, failed, unknown, keys, linearizable (null when undecided), elapsed_ms (the check,
    /// reading excluded) and counterexample (null, or the key and its operations in the history file's own format).
    /// </summary>
    private static string Json(HistorySummary summary, CheckResult result, TimeSpan elapsed)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("operations", summary.Operations);
            writer.WriteNumber("ok", summary.Ok);
            writer.WriteNumber("failed", summary.Failed);
            writer.WriteNumber("unknown", summary.Unknown);
            writer.WriteNumber("keys", summary.Keys);
            if (result.TimedOut)
            {
                writer.WriteNull("linearizable");
            }
            else
            {
                writer.WriteBoolean("linearizable", result.Linearizable);
            }
            writer.WriteNumber("elapsed_ms", (long)elapsed.TotalMilliseconds);
            writer.WritePropertyName("counterexample");
            if (result.FailingKey is string key)
            {
                WriteCounterexample(writer, key, result.Counterexample);
            }
            else
            {
                writer.WriteNullValue();
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteCounterexample(Utf8JsonWriter writer, string key, IReadOnlyList<Operation> ops)
    {
        // The operations keep the history format, so a counterexample saved as JSON lines can be checked again.
        var lines = new StringWriter();
        HistoryJsonl.Write(lines, ops.OrderBy(op => op.Invoke));
        writer.WriteStartObject();
        writer.WriteString("key", key);
        writer.WriteStartArray("operations");
        foreach (var line in lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var operation = JsonDocument.Parse(line);
            operation.RootElement.WriteTo(writer);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static string Quote(string text) =>
        "\"" + JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";
}
