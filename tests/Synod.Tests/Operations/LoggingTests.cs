using System.Text.Json;
using Synod.Cli;
using Synod.Tests.Cluster;

namespace Synod.Tests.Operations;

/// <summary>
/// Issue 19, logs: `serve --log-format json` writes one JSON object per line that a machine can parse, with the
/// message's named values as fields; an unknown format or level is refused at start with exit 2.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class LoggingTests
{
    [Fact]
    public async Task With_log_format_json_every_line_is_one_json_object_with_the_events_values_as_fields()
    {
        await using var cluster = new ReplicaProcesses(1, "--log-format", "json");
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        var lines = cluster.Log(1).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => line.StartsWith('{')).ToList();
        Assert.NotEmpty(lines);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.All(events, e => Assert.True(e.TryGetProperty("Timestamp", out _) && e.TryGetProperty("LogLevel", out _) && e.TryGetProperty("Message", out _), e.ToString()));

        // The role change names its values and its reason: a machine reads them without parsing the message.
        var leader = events.First(e => e.GetProperty("State").TryGetProperty("Role", out var role) && role.GetString() == "leader");
        Assert.Equal(1, leader.GetProperty("State").GetProperty("Id").GetInt32());
        Assert.StartsWith("1.", leader.GetProperty("State").GetProperty("Ballot").GetString(), StringComparison.Ordinal);
        Assert.Contains("a quorum promised ballot", leader.GetProperty("State").GetProperty("Reason").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--log-format", "xml", "'text' 'json'")]
    [InlineData("--log-level", "loud", "'debug' 'info' 'warning' 'error'")]
    public async Task An_unknown_log_format_or_level_is_refused_with_exit_2_naming_the_choices(string option, string value, string choices)
    {
        var run = await CliExitCodeTests.RunAsync("serve", "--id", "1", "--peers", "1=127.0.0.1:1", "--data-dir", Path.GetTempPath(), option, value);
        CliExitCodeTests.AssertFailure(run, ExitCodes.InvalidInput, choices);
    }
}
