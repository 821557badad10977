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

    /// <summary>
    /// Issue 13, finding 3: status printed "leader: replica 4" while no replica's role was leader, and showed no
    /// replica as rebuilding. A leader is named only by its own answer; rebuilding replicas are listed.
    /// </summary>
    [Fact]
    public void No_leader_is_named_that_no_replica_confirms_and_rebuilding_replicas_are_shown()
    {
        var three = new ClusterConfig.ReplicaEntry { Id = 3, Endpoint = "127.0.0.1:7003" };
        var rows = new[]
        {
            StatusRow.FromResponse(One, new StatusResponse { Role = "follower", Ballot = "217.4", LeaderId = 2, Rebuilding = true }),
            StatusRow.FromResponse(Two, new StatusResponse { Role = "follower", Ballot = "1312.5", LeaderId = 2 }),
            StatusRow.FromResponse(three, new StatusResponse { Role = "candidate", Ballot = "1312.5" }),
        };

        var text = StatusTable.Text(rows);

        Assert.EndsWith("3 of 3 replicas up; no leader confirmed (replicas 1, 2 name replica 2, whose role is follower); rebuilding (not voting): replica 1\n", text, StringComparison.Ordinal);
        Assert.Contains("rebuilding (not voting)", text.Split('\n')[1], StringComparison.Ordinal);
        Assert.Contains("\"rebuilding\": true", StatusTable.Json(rows), StringComparison.Ordinal);
        Assert.Equal("1 of 2 replicas up; no leader confirmed (replica 1 names replica 2, which did not answer)",
            StatusTable.Summary([StatusRow.FromResponse(One, new StatusResponse { Role = "follower", LeaderId = 2 }), StatusRow.Down(Two, "refused")]));
    }

    [Fact]
    public void The_leader_s_preferred_replica_and_why_it_does_not_lead_yet_are_in_the_summary_and_the_json()
    {
        var rows = new[]
        {
            StatusRow.FromResponse(One, new StatusResponse { Role = "leader", Ballot = "9.1", LeaderId = 1, PreferredLeader = 2, PreferredLeaderWait = "catching up: 812 slots behind this leader's commit index (at most 64)" }),
            StatusRow.FromResponse(Two, new StatusResponse { Role = "follower", Ballot = "9.1", LeaderId = 1 }),
        };

        Assert.Equal("2 of 2 replicas up; leader: replica 1; preferred leader: replica 2 (catching up: 812 slots behind this leader's commit index (at most 64))", StatusTable.Summary(rows));
        Assert.Contains("\"preferredLeader\": 2", StatusTable.Json(rows), StringComparison.Ordinal);
        Assert.Equal("2 of 2 replicas up; leader: replica 2", StatusTable.Summary([rows[1] with { Leader = false }, rows[1] with { Id = 2, Leader = true }]));
    }

    [Fact]
    public void A_replica_receiving_a_snapshot_shows_how_much_is_in_and_from_which_peer()
    {
        var rows = new[]
        {
            StatusRow.FromResponse(One, new StatusResponse
            {
                Role = "follower", Ballot = "9.3", LeaderId = 3, Rebuilding = true, SnapshotFrom = 3, SnapshotReceivedBytes = 412L << 20, SnapshotTotalBytes = 757L << 20,
            }),
            StatusRow.FromResponse(Two, new StatusResponse { Role = "follower", Ballot = "9.3", LeaderId = 3 }),
        };

        var lines = StatusTable.Text(rows).Split('\n');
        Assert.EndsWith("rebuilding (not voting); receiving snapshot 412 of 757 MiB from 3", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("receiving", lines[2], StringComparison.Ordinal);
        var json = StatusTable.Json(rows);
        Assert.Contains("\"snapshotFrom\": 3", json, StringComparison.Ordinal);
        Assert.Contains($"\"snapshotReceivedBytes\": {412L << 20}", json, StringComparison.Ordinal);
        Assert.Null(rows[1].SnapshotFrom);
    }
}
