using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Synod.Checker;

/// <summary>
/// Histories as JSON lines, one operation per line:
/// <c>{"client": 3, "op": "put", "key": "k1", "value": "v", "invoke": 1.25, "complete": 1.5, "result": "ok", "outcome": "ok"}</c>.
/// <c>value</c> is null for get and delete; <c>complete</c> is null for an unknown outcome; <c>result</c> is
/// the value read (null for absent) for a completed get, "ok" for a completed put or delete, and null otherwise.
/// A compare-and-swap: <c>{"op": "cas", "key", "expect": value or null (absent), "value", "result": true (swapped) |
/// false (compare failed) | null, "outcome", ...}</c>.
/// </summary>
public static class HistoryJsonl
{
    private const string ResultOk = "ok";

    public static void Write(TextWriter writer, IEnumerable<Operation> history)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(history);
        var index = 0;
        foreach (var op in history)
        {
            var problem = op is null ? "the operation is null" : OperationRules.FindProblem(op);
            if (problem is not null)
            {
                throw new ArgumentException($"history[{index}]: {problem}.", nameof(history));
            }
            writer.Write(Line(op!));
            writer.Write('\n');
            index++;
        }
    }

    /// <exception cref="FormatException">A line is malformed; the message names the line number and the problem.</exception>
    public static IReadOnlyList<Operation> Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var history = new List<Operation>();
        var lineNumber = 0;
        while (reader.ReadLine() is string line)
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                history.Add(ParseLine(line, lineNumber));
            }
        }
        return history;
    }

    private static string Line(Operation op)
    {
        var result = op.Outcome != Outcome.Ok ? null : op.Kind == OperationKind.Get ? op.Result : ResultOk;
        var line = new StringBuilder();
        if (op.Kind == OperationKind.Cas)
        {
            line.Append("{\"client\": ").Append(op.ClientId.ToString(CultureInfo.InvariantCulture))
                .Append(", \"op\": \"cas\", \"key\": ").Append(Text(op.Key))
                .Append(", \"expect\": ").Append(Text(op.Expect))
                .Append(", \"value\": ").Append(Text(op.Value))
                .Append(", \"invoke\": ").Append(Number(op.Invoke))
                .Append(", \"complete\": ").Append(op.Complete is double done ? Number(done) : "null")
                .Append(", \"result\": ").Append(op.Swapped is { } swapped ? (swapped ? "true" : "false") : "null")
                .Append(", \"outcome\": ").Append(Text(OperationRules.OutcomeName(op.Outcome)))
                .Append('}');
            return line.ToString();
        }

        line.Append("{\"client\": ").Append(op.ClientId.ToString(CultureInfo.InvariantCulture))
            .Append(", \"op\": ").Append(Text(OperationRules.KindName(op.Kind)))
            .Append(", \"key\": ").Append(Text(op.Key))
            .Append(", \"value\": ").Append(Text(op.Value))
            .Append(", \"invoke\": ").Append(Number(op.Invoke))
            .Append(", \"complete\": ").Append(op.Complete is double complete ? Number(complete) : "null")
            .Append(", \"result\": ").Append(Text(result))
            .Append(", \"outcome\": ").Append(Text(OperationRules.OutcomeName(op.Outcome)))
            .Append('}');
        return line.ToString();
    }

    private static string Text(string? value) =>
        value is null ? "null" : "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";

    // "R" is the shortest text that reads back as the same double.
    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static Operation ParseLine(string line, int lineNumber)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"line {lineNumber}: not valid JSON ({ex.Message})", ex);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Problem(lineNumber, "expected a JSON object");
            }
            var kind = ParseKind(RequiredString(root, "op", lineNumber), lineNumber);
            var outcome = ParseOutcome(RequiredString(root, "outcome", lineNumber), lineNumber);
            if (kind == OperationKind.Cas)
            {
                return ParseCas(root, outcome, lineNumber);
            }

            var result = OptionalString(root, "result", lineNumber);
            var op = new Operation(
                ClientId: RequiredInt(root, "client", lineNumber),
                Kind: kind,
                Key: RequiredString(root, "key", lineNumber),
                Value: OptionalString(root, "value", lineNumber),
                Result: kind == OperationKind.Get && outcome == Outcome.Ok ? result : null,
                Invoke: OptionalNumber(root, "invoke", lineNumber) ?? throw Missing(lineNumber, "invoke"),
                Complete: OptionalNumber(root, "complete", lineNumber),
                Outcome: outcome);
            var problem = OperationRules.FindProblem(op);
            return problem is null ? op : throw Problem(lineNumber, problem);
        }
    }

    private static Operation ParseCas(JsonElement root, Outcome outcome, int lineNumber)
    {
        bool? swapped = root.TryGetProperty("result", out var result) ? result.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => null,
            _ => throw Problem(lineNumber, "a cas's \"result\" must be true (swapped), false (compare failed) or null"),
        } : null;
        if (!root.TryGetProperty("expect", out _))
        {
            throw Missing(lineNumber, "expect");
        }

        var op = new Operation(
            ClientId: RequiredInt(root, "client", lineNumber),
            Kind: OperationKind.Cas,
            Key: RequiredString(root, "key", lineNumber),
            Value: OptionalString(root, "value", lineNumber),
            Result: null,
            Invoke: OptionalNumber(root, "invoke", lineNumber) ?? throw Missing(lineNumber, "invoke"),
            Complete: OptionalNumber(root, "complete", lineNumber),
            Outcome: outcome)
        {
            Expect = OptionalString(root, "expect", lineNumber),
            Swapped = swapped,
        };
        var problem = OperationRules.FindProblem(op);
        return problem is null ? op : throw Problem(lineNumber, problem);
    }

    private static OperationKind ParseKind(string text, int lineNumber) => text switch
    {
        "get" => OperationKind.Get,
        "put" => OperationKind.Put,
        "delete" => OperationKind.Delete,
        "cas" => OperationKind.Cas,
        _ => throw Problem(lineNumber, $"\"op\" is \"{text}\"; expected \"get\", \"put\", \"delete\" or \"cas\""),
    };

    private static Outcome ParseOutcome(string text, int lineNumber) => text switch
    {
        "ok" => Outcome.Ok,
        "fail" => Outcome.Fail,
        "unknown" => Outcome.Unknown,
        _ => throw Problem(lineNumber, $"\"outcome\" is \"{text}\"; expected \"ok\", \"fail\" or \"unknown\""),
    };

    private static int RequiredInt(JsonElement root, string name, int lineNumber)
    {
        if (!root.TryGetProperty(name, out var element))
        {
            throw Missing(lineNumber, name);
        }
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var value))
        {
            throw Problem(lineNumber, $"\"{name}\" must be an integer");
        }
        return value;
    }

    private static string RequiredString(JsonElement root, string name, int lineNumber)
    {
        if (!root.TryGetProperty(name, out _))
        {
            throw Missing(lineNumber, name);
        }
        return OptionalString(root, name, lineNumber) ?? throw Problem(lineNumber, $"\"{name}\" must be a string");
    }

    /// <summary>A string, or null when the field is null or absent.</summary>
    private static string? OptionalString(JsonElement root, string name, int lineNumber)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return element.ValueKind == JsonValueKind.String
            ? element.GetString()
            : throw Problem(lineNumber, $"\"{name}\" must be a string or null");
    }

    /// <summary>A number, or null when the field is null or absent.</summary>
    private static double? OptionalNumber(JsonElement root, string name, int lineNumber)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return element.ValueKind == JsonValueKind.Number
            ? element.GetDouble()
            : throw Problem(lineNumber, $"\"{name}\" must be a number or null");
    }

    private static FormatException Missing(int lineNumber, string name) =>
        Problem(lineNumber, $"the field \"{name}\" is missing");

    private static FormatException Problem(int lineNumber, string problem) => new($"line {lineNumber}: {problem}");
}
