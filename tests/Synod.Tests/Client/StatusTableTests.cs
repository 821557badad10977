using Synod.Cli;
using Synod.Protocol;

namespace Synod.Tests.Client;

public sealed class StatusTableTests
{
    private static readonly ClusterConfig.ReplicaEntry One = new() { Id = 1, Endpoint = "127.0.0.1:7001", ProcessId = 4242 };
    private static readonly ClusterConfig.ReplicaEntry Two = new() { Id = 2, Endpoint = "127.0.0.1:7002" };

    [Fact]
    public void Lag_is_the_highest_known_commit_minus_the_applied_slot_and_the_pid_prefers_the_cluster_file()
    {
        var row = StatusRow.FromResponse(One, new StatusResponse
        {
            Role = "leader", Ballot = "3.1", CommitIndex = 12, AppliedSlot = 9, HighestKnownCommit = 12, ProcessId = 99, LeaderId = 1,
        });

        Assert.Equal(3UL, row.Lag);
        Assert.Equal(4242, row.Pid);
        Assert.True(row.Leader);
    }

    [Fact]
    public void The_table_aligns_columns_and_shows_a_down_replica_with_its_error()
    {
        var rows = new[]
        {
            StatusRow.FromResponse(One, new StatusResponse { Role = "leader", Ballot = "3.1", CommitIndex = 12, AppliedSlot = 12, HighestKnownCommit = 12, LeaderId = 1 }),
            StatusRow.Down(Two, "connection refused"),
        };

        var lines = StatusTable.Text(rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(4, lines.Length);
        Assert.Equal(lines[0].IndexOf("ROLE", StringComparison.Ordinal), lines[1].IndexOf("leader", StringComparison.Ordinal));
        Assert.Contains("down", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("connection refused", lines[2], StringComparison.Ordinal);
        Assert.Equal("1 of 2 replicas up; leader: replica 1", lines[3]);
    }

    [Fact]
    public void The_json_is_an_array_with_camel_case_fields()
    {
        var json = StatusTable.Json([StatusRow.Down(Two, "connection refused")]);

        Assert.StartsWith("[", json, StringComparison.Ordinal);
        Assert.Contains("\"up\": false", json, StringComparison.Ordinal);
        Assert.Contains("\"error\": \"connection refused\"", json, StringComparison.Ordinal);
    }
}
