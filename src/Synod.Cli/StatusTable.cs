using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Synod.Cli;

/// <summary>Renders `synod status`: a plain table with aligned columns and a summary line, or a JSON array.</summary>
public static class StatusTable
{
    /// <summary>Spaces between two columns.</summary>
    public const int ColumnGapChars = 2;

    public const string LeaderMarker = "*";
    public const string Missing = "-";

    private static readonly string[] Headers = ["ID", "ENDPOINT", "STATE", "ROLE", "BALLOT", "COMMIT", "APPLIED", "LAG", "PID", "LEADER", "NOTE"];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The table and a summary line, each line ending in a newline; trailing spaces trimmed.</summary>
    public static string Text(IReadOnlyList<StatusRow> rows)
    {
        var cells = new List<string[]> { Headers };
        cells.AddRange(rows.Select(Cells));
        var widths = Enumerable.Range(0, Headers.Length).Select(column => cells.Max(line => line[column].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var line in cells)
        {
            var padded = line.Select((cell, column) => cell.PadRight(widths[column] + ColumnGapChars));
            text.Append(string.Concat(padded).TrimEnd()).Append('\n');
        }

        text.Append(Summary(rows)).Append('\n');
        return text.ToString();
    }

    public static string Json(IReadOnlyList<StatusRow> rows) => JsonSerializer.Serialize(rows, JsonOptions) + "\n";

    /// <summary>"3 of 5 replicas up; leader: replica 2", or "no leader known" when no replica answering names one.</summary>
    public static string Summary(IReadOnlyList<StatusRow> rows)
    {
        var up = rows.Count(r => r.Up);
        var leader = rows.FirstOrDefault(r => r.Leader)?.Id
            ?? rows.Where(r => r.LeaderId is not null).GroupBy(r => r.LeaderId).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key;
        var leaderText = leader is { } id ? $"leader: replica {id}" : "no leader known";
        return $"{up} of {rows.Count} replicas up; {leaderText}";
    }

    private static string[] Cells(StatusRow row) =>
    [
        row.Id.ToString(),
        row.Endpoint,
        row.Up ? "up" : "down",
        row.Role ?? Missing,
        string.IsNullOrEmpty(row.Ballot) ? Missing : row.Ballot,
        row.CommitIndex?.ToString() ?? Missing,
        row.AppliedSlot?.ToString() ?? Missing,
        row.Lag?.ToString() ?? Missing,
        row.Pid?.ToString() ?? Missing,
        row.Leader ? LeaderMarker : "",
        row.Error ?? "",
    ];
}
