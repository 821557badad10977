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

    private static readonly string[] Headers = ["ID", "ENDPOINT", "STATE", "ROLE", "BALLOT", "COMMIT", "APPLIED", "REV", "LAG", "PID", "LEADER", "NOTE"];

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

    /// <summary>The same array on one line (status --watch --json: one line per round).</summary>
    public static string JsonLine(IReadOnlyList<StatusRow> rows) => JsonSerializer.Serialize(rows, JsonLineOptions) + "\n";

    private static readonly JsonSerializerOptions JsonLineOptions = new(JsonOptions) { WriteIndented = false };

    /// <summary>
    /// "3 of 5 replicas up; leader: replica 2". A leader is named only when that replica answered with the role of
    /// leader; what others believe is reported as such ("replicas 1, 3 name replica 4, whose role is follower"). Ends
    /// with the replicas that are rebuilding, if any.
    /// </summary>
    public static string Summary(IReadOnlyList<StatusRow> rows)
    {
        var up = rows.Count(r => r.Up);
        var leaders = rows.Where(r => r.Leader).Select(r => r.Id).ToList();
        var leaderText = leaders.Count switch
        {
            1 => $"leader: replica {leaders[0]}",
            > 1 => $"leaders: replicas {string.Join(", ", leaders)} (two at once is harmless: the higher ballot's wins)",
            _ => NoLeader(rows),
        };
        var rebuilding = rows.Where(r => r.Up && r.Rebuilding == true).Select(r => r.Id).ToList();
        var rebuildingText = rebuilding.Count == 0 ? "" : $"; rebuilding (not voting): replica{(rebuilding.Count > 1 ? "s" : "")} {string.Join(", ", rebuilding)}";
        var preferred = leaders.Count == 1 ? rows.First(r => r.Leader) : null;
        var preferredText = preferred?.PreferredLeader is int wanted
            ? $"; preferred leader: replica {wanted} ({preferred.PreferredLeaderWait ?? "handing over"})"
            : "";
        return $"{up} of {rows.Count} replicas up; {leaderText}{preferredText}{rebuildingText}{QuotaText(rows)}";
    }

    /// <summary>The share of the write quota used, from the fullest replica up, once it is past <see cref="QuotaWarnPercent"/>.</summary>
    private static string QuotaText(IReadOnlyList<StatusRow> rows)
    {
        var fullest = rows.Where(r => r.Up && r.QuotaBytes is > 0 && r.DataBytes is not null)
            .Select(r => (Used: (double)r.DataBytes!.Value / r.QuotaBytes!.Value, Row: r))
            .OrderByDescending(x => x.Used).FirstOrDefault();
        if (fullest.Row is null || fullest.Used * 100 < QuotaWarnPercent)
        {
            return "";
        }

        var full = fullest.Used >= 1 ? " (database space exceeded: writes that grow the data are refused; delete keys or raise --quota-bytes)" : "";
        return $"; write quota {Math.Floor(fullest.Used * 100):F0}% used ({fullest.Row.DataBytes} of {fullest.Row.QuotaBytes} bytes at replica {fullest.Row.Id}){full}";
    }

    /// <summary>The share of the write quota past which the summary line reports it (80%).</summary>
    public const int QuotaWarnPercent = 80;

    /// <summary>Why no replica is shown as leader: none is named, or the one named did not answer, or is not one.</summary>
    private static string NoLeader(IReadOnlyList<StatusRow> rows)
    {
        var named = rows.Where(r => r.LeaderId is not null).GroupBy(r => r.LeaderId!.Value).OrderByDescending(g => g.Count()).FirstOrDefault();
        if (named is null)
        {
            return "no leader";
        }

        var believers = $"replica{(named.Count() > 1 ? "s" : "")} {string.Join(", ", named.Select(r => r.Id))}";
        var claimed = rows.FirstOrDefault(r => r.Id == named.Key);
        var why = claimed is null ? "which is not in the list"
            : !claimed.Up ? "which did not answer"
            : $"whose role is {claimed.Role}";
        var verb = named.Count() > 1 ? "name" : "names";
        return $"no leader confirmed ({believers} {verb} replica {named.Key}, {why})";
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
        row.Revision?.ToString() ?? Missing,
        row.Lag?.ToString() ?? Missing,
        row.Pid?.ToString() ?? Missing,
        row.Leader ? LeaderMarker : "",
        row.Error ?? string.Join("; ", new[] { row.Rebuilding == true ? "rebuilding (not voting)" : null, ReceivingText(row) }.OfType<string>()),
    ];

    /// <summary>"receiving snapshot 412 of 757 MiB from 3" while a snapshot arrives from a peer; null otherwise.</summary>
    internal static string? ReceivingText(StatusRow row) =>
        row is { SnapshotFrom: int from, SnapshotReceivedBytes: ulong received, SnapshotTotalBytes: ulong total }
            ? $"receiving snapshot {received / 1048576.0:F0} of {total / 1048576.0:F0} MiB from {from}"
            : null;
}
