using Synod.Core;
using Synod.Server;
using Synod.Storage;

namespace Synod.Tests.Server;

/// <summary>
/// One place for the server's settings: the core's and the storage's are composed, not copied, and what one layer's
/// limit must leave room for in another's is refused at start with a sentence that names the setting.
/// </summary>
public sealed class ServerOptionsTests
{
    private static ServerOptions Options(int replicas = 3) => ServerOptions.Defaults with
    {
        Endpoints = Enumerable.Range(1, replicas).ToDictionary(id => id, id => $"127.0.0.1:{7000 + id}"),
        InsecurePeers = true,
    };

    [Fact]
    public void The_defaults_are_valid_and_the_core_gets_the_servers_timing_with_this_replicas_id_and_members()
    {
        var options = Options() with { Id = 2 };
        options.Validate();

        var core = options.ToReplicaOptions();
        Assert.Equal(2, core.Id);
        Assert.Equal([1, 2, 3], core.Members);
        Assert.Equal(ServerOptions.CoreDefaults.ElectionTimeoutTicks, core.ElectionTimeoutTicks);
        Assert.Equal(options.RequestTimeoutMs / options.TickMs, core.ProposalWaitTicksMax);
    }

    [Fact]
    public void A_snapshot_from_a_peer_is_assembled_in_an_array_backed_by_huge_pages_and_no_larger_snapshot_than_one_array_is_allowed()
    {
        // docs/performance.md, "Large pages for the arrays a restart fills": the server's core assembles a peer's
        // snapshot in a LargeArrays array; the simulator's core keeps new byte[] (no allocator given).
        var core = (Options() with { Id = 1 }).ToReplicaOptions();
        Assert.Equal(LargeArrays.AllocateUninitialized, core.SnapshotArrayAllocator);
        Assert.Equal(LargeArrays.AdvisedBytesMin, core.SnapshotArrayAllocator!(LargeArrays.AdvisedBytesMin).Length);

        var tooLarge = Assert.Throws<ArgumentException>((core with { SnapshotBytesMax = Array.MaxLength + 1L }).Validate);
        Assert.Contains("SnapshotBytesMax", tooLarge.Message, StringComparison.Ordinal);
        (core with { SnapshotBytesMax = Array.MaxLength }).Validate();
    }

    [Fact]
    public void A_write_quota_that_with_the_history_would_not_leave_the_state_within_one_snapshot_is_refused_naming_both()
    {
        var options = Options() with { Id = 1 };
        var room = ServerOptions.CoreDefaults.SnapshotBytesMax - ServerOptions.SnapshotReserveBytes - ((long)options.SessionsMax * ServerOptions.SessionSnapshotBytesMax);
        (options with { QuotaBytes = room - options.HistoryBytes }).Validate();

        var quota = Assert.Throws<ArgumentException>((options with { QuotaBytes = room - options.HistoryBytes + 1 }).Validate);
        Assert.Contains("--quota-bytes", quota.Message, StringComparison.Ordinal);
        Assert.Contains($"--quota-bytes may be at most {room - options.HistoryBytes}", quota.Message, StringComparison.Ordinal);
        var history = Assert.Throws<ArgumentException>((options with { HistoryBytes = 512L * 1024 * 1024 }).Validate);
        Assert.Contains("--history-bytes", history.Message, StringComparison.Ordinal);
        Assert.Contains($"--quota-bytes may be at most {room - (512L * 1024 * 1024)}", history.Message, StringComparison.Ordinal);
        var sessions = Assert.Throws<ArgumentException>((options with { SessionsMax = 5_000_000 }).Validate);
        Assert.Contains("--sessions-max", sessions.Message, StringComparison.Ordinal);
        Assert.Contains("with these settings no quota fits", sessions.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>((options with { QuotaBytes = 0 }).Validate);
    }

    [Fact]
    public void A_negative_background_collection_threshold_is_refused_naming_the_flag()
    {
        var options = Options() with { Id = 1 };
        (options with { BackgroundGcHeapBytes = 0 }).Validate();
        var negative = Assert.Throws<ArgumentException>((options with { BackgroundGcHeapBytes = -1 }).Validate);
        Assert.Contains("--background-gc-heap-bytes", negative.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_peer_route_is_dialled_instead_of_the_configured_endpoint_and_a_bad_one_is_refused_naming_it()
    {
        var options = Options() with { Id = 1, PeerRoutes = new Dictionary<int, string> { [2] = "127.0.0.1:9002", [9] = "127.0.0.1:9009" } };
        options.Validate();
        Assert.Equal("127.0.0.1:9002", options.DialEndpoint(2, "127.0.0.1:7002"));
        Assert.Equal("127.0.0.1:7003", options.DialEndpoint(3, "127.0.0.1:7003"));

        var own = Assert.Throws<ArgumentException>((options with { PeerRoutes = new Dictionary<int, string> { [1] = "127.0.0.1:9001" } }).Validate);
        Assert.Contains("--peer-routes names replica 1", own.Message, StringComparison.Ordinal);
        var malformed = Assert.Throws<ArgumentException>((options with { PeerRoutes = new Dictionary<int, string> { [2] = "nowhere" } }).Validate);
        Assert.Contains("replica 2's route in --peer-routes", malformed.Message, StringComparison.Ordinal);
        var many = Enumerable.Range(2, ServerOptions.PeerRoutesMax + 1).ToDictionary(id => id, id => $"127.0.0.1:{9000 + id}");
        var tooMany = Assert.Throws<ArgumentException>((options with { PeerRoutes = many }).Validate);
        Assert.Contains("PeerRoutesMax", tooMany.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_preferred_leader_is_the_largest_id_by_default_reaches_the_core_in_ticks_and_a_bad_one_is_refused_naming_it()
    {
        var options = Options() with { Id = 1 };
        options.Validate();
        Assert.Equal((ReplicaOptions.PreferLargestId, 300, 64), (options.ToReplicaOptions().PreferredLeader, options.ToReplicaOptions().PreferredLeaderStableTicks, options.ToReplicaOptions().PreferredLeaderLagSlotsMax));
        Assert.Equal(2, (options with { PreferredLeader = 2 }).ToReplicaOptions().PreferredLeader);
        Assert.Equal([ReplicaOptions.PreferLargestId, ReplicaOptions.PreferNone, 3, null, null, null], new[] { "largest-id", "none", "3", "0", "-1", "smallest" }.Select(Synod.Cli.ServeCommand.ParsePreferredLeader));

        var unknown = Assert.Throws<ArgumentException>((options with { PreferredLeader = 9 }).Validate);
        Assert.Contains("--preferred-leader 9 names no replica", unknown.Message, StringComparison.Ordinal);
        var shortWindow = Assert.Throws<ArgumentException>((options with { PreferredLeaderStableMs = 100 }).Validate);
        Assert.Contains("--preferred-leader-window (100 ms) must be at least one election timeout (500 ms)", shortWindow.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_core_setting_changed_in_the_options_reaches_the_core()
    {
        var options = Options() with { Core = ServerOptions.CoreDefaults with { ElectionTimeoutTicks = 80, PipelineSlotsMax = 8 } };
        options.Validate();

        Assert.Equal(80, options.ToReplicaOptions().ElectionTimeoutTicks);
        Assert.Equal(8, options.ToReplicaOptions().PipelineSlotsMax);
    }

    [Theory]
    [InlineData("RecordBytesMax")]
    [InlineData("SnapshotBytesMax")]
    [InlineData("CatchUpBytesMax")]
    [InlineData("SnapshotChunkBytes")]
    [InlineData("ElectionTimeoutTicks")]
    public void A_limit_that_leaves_no_room_for_another_layers_is_refused_naming_it(string setting)
    {
        var options = setting switch
        {
            // A batch of a megabyte plus one request cannot be logged in 1.5 MiB records.
            "RecordBytesMax" => Options() with { Storage = new StorageOptions { RecordBytesMax = 1536 * 1024 } },
            // The core takes snapshots up to 1 GiB from peers; the storage could keep only 16 MiB of them.
            "SnapshotBytesMax" => Options() with { Storage = new StorageOptions { SnapshotBytesMax = 16 * 1024 * 1024 } },
            // A 72 MiB catch-up reply cannot cross 72 MiB peer messages with its envelope.
            "CatchUpBytesMax" => Options() with { Core = ServerOptions.CoreDefaults with { CatchUpBytesMax = 72 * 1024 * 1024, PromiseBytesMax = 64L * 1024 * 1024 } },
            "SnapshotChunkBytes" => Options() with { Core = ServerOptions.CoreDefaults with { SnapshotChunkBytes = 80 * 1024 * 1024 } },
            // Requests would time out before a failover could end.
            _ => Options() with { Core = ServerOptions.CoreDefaults with { ElectionTimeoutTicks = 1_000 } },
        };

        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(setting == "ElectionTimeoutTicks" ? "RequestTimeoutMs" : setting, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void An_even_number_of_replicas_is_refused_with_the_one_rule_every_command_uses(int replicas)
    {
        var error = Assert.Throws<ArgumentException>(Options(replicas).Validate);
        Assert.Contains("use an odd number", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.Message, Assert.Throws<ArgumentException>(() => ReplicaOptions.RequireOddReplicaCount(replicas, "--peers")).Message);
    }
}
