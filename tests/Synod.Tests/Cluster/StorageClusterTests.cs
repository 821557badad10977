using Synod.Client;
using Synod.Cli;
using Synod.Protocol;

namespace Synod.Tests.Cluster;

/// <summary>The durable storage in a real cluster: a lost data directory, a refused start, and a log that compaction keeps small.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class StorageClusterTests
{
    private const int Replicas = 5;
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_replica_whose_data_directory_was_deleted_refuses_to_start_plainly_rejoins_through_a_snapshot_with_rebuild_from_peers_and_restarts_from_it()
    {
        await using var cluster = new ReplicaProcesses(Replicas, "--snapshot-every-slots", "50");
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        await using (var large = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) }))
        {
            // A snapshot of several 1 MiB chunks, so that the rebuilding replica says it is receiving one and how it came.
            for (var i = 0; i < 3; i++)
            {
                await large.PutAsync($"large-{i}", new string((char)('a' + i), 900 * 1024));
            }
        }

        await WriteAsync(cluster, "before", 600, valueBytes: 64);
        var lost = cluster.Endpoints.Keys.First(id => id != leader);
        cluster.Kill(lost);
        Directory.Delete(cluster.DataDir(lost), recursive: true);

        // Started as if nothing happened, the empty directory is refused with the way out.
        var plain = await CliExitCodeTests.RunAsync(["serve", "--id", $"{lost}", "--peers", string.Join(",", cluster.Endpoints.Select(e => $"{e.Key}={e.Value}")),
            "--data-dir", cluster.DataDir(lost), .. cluster.PeerArgs(lost)]);
        Assert.Equal(ExitCodes.Failure, plain.ExitCode);
        Assert.Contains("--rebuild-from-peers", plain.Stderr, StringComparison.Ordinal);

        cluster.Start(lost, "--rebuild-from-peers");
        await WriteAsync(cluster, "after", 100, valueBytes: 64);
        var commit = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(StartupLimit)))!.CommitIndex;
        await cluster.WaitForAppliedAsync([lost], commit, TimeSpan.FromSeconds(30));
        await Eventually.WithinAsync(async () => (await cluster.StatusAsync(lost))?.Rebuilding == false, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        Assert.False((await cluster.StatusAsync(lost))!.Rebuilding, $"replica {lost} never became a voter again.\n{cluster.Log(lost)}");
        Assert.Contains("installed a snapshot", cluster.Log(lost), StringComparison.Ordinal);
        Assert.Matches(@"receiving the snapshot at slot \d+ from replica \d \(\d+ MiB\)", cluster.Log(lost));
        Assert.Matches(@"installed a snapshot at slot \d+ \(\d+ keys, \d+ MiB; its state machine took \d+\.\d s; received from replica \d in \d+\.\d s, \d+ MB/s\)", cluster.Log(lost));
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        var index = lost - 1;
        Assert.Equal("before-7", (await client.GetAsync("before-7", stale: true, options: SynodCallOptions.Pinned(index))).ValueAsString());
        Assert.Equal("after-99", (await client.GetAsync("after-99", stale: true, options: SynodCallOptions.Pinned(index))).ValueAsString());

        // Restarted again, it restores the snapshot it installed on a thread of its own while its log is read, and
        // serves the same state.
        cluster.Kill(lost);
        cluster.Start(lost);
        await cluster.WaitForAppliedAsync([lost], commit, TimeSpan.FromSeconds(30));
        bool RestoredAhead() => cluster.Log(lost).Split("killed by the test")[^1].Contains("restored while the log was read", StringComparison.Ordinal);
        await Eventually.WithinAsync(() => Task.FromResult(RestoredAhead()), TimeSpan.FromSeconds(10));
        Assert.True(RestoredAhead(), $"replica {lost} did not restore its snapshot ahead.\n{cluster.Log(lost)}");
        Assert.Equal("before-7", (await client.GetAsync("before-7", stale: true, options: SynodCallOptions.Pinned(index))).ValueAsString());
        Assert.Equal("after-99", (await client.GetAsync("after-99", stale: true, options: SynodCallOptions.Pinned(index))).ValueAsString());
    }

    [Fact]
    public async Task Replicas_whose_snapshot_headers_rotted_on_disk_send_the_headers_they_checked_and_a_rebuilding_replica_catches_up_with_the_right_voters()
    {
        await using var cluster = new ReplicaProcesses(Replicas, "--snapshot-every-slots", "40");
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        await WriteAsync(cluster, "before", 300, valueBytes: 64);

        // Every voter snapshots in a phase of its own: write until each has one.
        Dictionary<int, StatusResponse> statuses = [];
        for (var round = 0; round < 10 && (statuses.Count == 0 || statuses.Values.Any(s => s.SnapshotSlot == 0)); round++)
        {
            await WriteAsync(cluster, $"more{round}", round == 0 ? 0 : 100, valueBytes: 64);
            var commit = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(StartupLimit)))!.CommitIndex;
            await cluster.WaitForAppliedAsync(cluster.Endpoints.Keys, commit, TimeSpan.FromSeconds(30));
            statuses = (await Task.WhenAll(cluster.Endpoints.Keys.Select(cluster.StatusAsync)))!.ToDictionary(s => (int)s!.Id, s => s!);
        }

        Assert.True(statuses.Values.All(s => s.SnapshotSlot > 0), $"a replica took no snapshot: {string.Join(", ", statuses.Values.Select(s => $"{s.Id}: {s.SnapshotSlot}"))}");

        // A learner, an intact peer stopped while the learner catches up (so that it is served by a damaged one), and
        // three replicas whose snapshot files rot after they were checked: the first member's voter flag in the
        // configuration header (the file's 28-byte header, the envelope's 6, an epoch's 20, the member list's 19, the
        // member's 4-byte id). They send peers chunks of the file's mapping, but the header as they checked it.
        var followers = cluster.Endpoints.Keys.Where(id => id != leader).ToList();
        var (learner, intact) = (followers[0], followers[1]);
        var damaged = cluster.Endpoints.Keys.Where(id => id != learner && id != intact).ToList();
        foreach (var id in damaged)
        {
            // The newest snapshot file (the status's slot may still be being written; an older file may still be there).
            var file = await NewestSnapshotFileAsync(cluster.DataDir(id), statuses[id].SnapshotSlot);
            const int VoterFlag = 28 + 6 + 20 + 19 + 4;
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
            var flag = new byte[1];
            stream.Position = VoterFlag;
            Assert.Equal(1, await stream.ReadAsync(flag));
            Assert.True(flag[0] == 1, $"the byte at {VoterFlag} of {file} is {flag[0]}, not a voter's flag");
            flag[0] = 0;
            stream.Position = VoterFlag;
            await stream.WriteAsync(flag);
        }

        cluster.Kill(intact);
        cluster.Kill(learner);
        Directory.Delete(cluster.DataDir(learner), recursive: true);
        cluster.Start(learner, "--rebuild-from-peers");

        // Caught up before any more writes, so that no damaged replica takes a newer snapshot first.
        var caughtUp = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(StartupLimit)))!.CommitIndex;
        await cluster.WaitForAppliedAsync([learner], caughtUp, TimeSpan.FromSeconds(30));
        Assert.Contains("installed a snapshot", cluster.Log(learner), StringComparison.Ordinal);
        bool DamageLogged() => damaged.Any(id => cluster.Log(id).Contains("is not the one this replica checked", StringComparison.Ordinal));
        await Eventually.WithinAsync(() => Task.FromResult(DamageLogged()), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        Assert.True(DamageLogged(), $"no damaged replica logged the damage.\n{string.Join("\n", damaged.Select(id => $"replica {id}:\n{cluster.Log(id)}"))}");
        await WriteAsync(cluster, "after", 20, valueBytes: 64);
        var target = (await cluster.StatusAsync(await cluster.WaitForLeaderAsync(StartupLimit)))!.CommitIndex;
        await cluster.WaitForAppliedAsync([learner], target, TimeSpan.FromSeconds(30));
        await Eventually.WithinAsync(async () => (await cluster.StatusAsync(learner))?.Rebuilding == false, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));

        // The learner holds the configuration every replica chose: five voters, not replica 1 as a learner.
        var members = await CliExitCodeTests.RunAsync("member", "list", "--json", "--endpoints", cluster.Endpoints[learner]);
        Assert.Equal(ExitCodes.Ok, members.ExitCode);
        var roles = System.Text.Json.JsonDocument.Parse(members.Stdout).RootElement.EnumerateArray().Select(m => m.GetProperty("role").GetString()).ToList();
        Assert.True(roles.Count == Replicas && roles.All(r => r == "voter"), $"replica {learner} lists {string.Join(", ", roles)}.\n{cluster.Log(learner)}");
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        Assert.Equal("before-7", (await client.GetAsync("before-7", stale: true, options: SynodCallOptions.Pinned(learner - 1))).ValueAsString());
        Assert.Equal("after-19", (await client.GetAsync("after-19", stale: true, options: SynodCallOptions.Pinned(learner - 1))).ValueAsString());
    }

    /// <summary>The snapshot file of <paramref name="slot"/> or a newer one in <paramref name="dataDir"/>, once it is written.</summary>
    private static async Task<string> NewestSnapshotFileAsync(string dataDir, ulong slot)
    {
        string? Newest() => Directory.GetFiles(Path.Combine(dataDir, "snap"), "*.snap").Order(StringComparer.Ordinal).LastOrDefault(
            f => string.CompareOrdinal(Path.GetFileName(f), $"{slot:D20}.snap") >= 0);
        await Eventually.WithinAsync(() => Task.FromResult(Newest() is not null), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        return Newest() ?? throw new FileNotFoundException($"no snapshot file at slot {slot} or later in {dataDir}/snap");
    }

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task The_log_stays_bounded_under_a_long_write_load_because_snapshots_compact_it()
    {
        const int Writes = 3_000;
        const int ValueBytes = 2_048;
        // 16 writers fill a slot with up to 16 values, so 20 slots hold at most about 650 KB: the bound below
        // leaves room for the slots written while a snapshot is still being taken.
        await using var cluster = new ReplicaProcesses(Replicas, "--snapshot-every-slots", "20");
        await cluster.WaitForLeaderAsync(StartupLimit);
        var largest = 0UL;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                foreach (var id in cluster.Endpoints.Keys)
                {
                    largest = Math.Max(largest, (await cluster.StatusAsync(id))?.WalBytes ?? 0);
                }

                await Task.Delay(50);
            }
        });
        await WriteAsync(cluster, "load", Writes, ValueBytes);
        await sampling.CancelAsync();
        await sampler;

        const long Written = (long)Writes * ValueBytes;
        var statuses = await Task.WhenAll(cluster.Endpoints.Keys.Select(cluster.StatusAsync));
        Assert.All(statuses, s => Assert.True(s!.SnapshotSlot > 0, $"replica {s.Id} took no snapshot"));
        Assert.True(largest > 0 && largest < (ulong)Written / 4,
            $"some replica's log reached {largest} bytes while {Written} bytes of values were written: compaction did not keep it small.");
        Assert.All(statuses, s => Assert.True(s!.WalSegments <= 2, $"replica {s.Id} kept {s.WalSegments} segments"));
    }

    private static async Task WriteAsync(ReplicaProcesses cluster, string prefix, int count, int valueBytes)
    {
        const int Writers = 16;
        var padding = new string('x', Math.Max(0, valueBytes - 16));
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(async w =>
        {
            await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
            for (var i = w; i < count; i += Writers)
            {
                var value = prefix == "load" ? $"{prefix}-{i}{padding}" : $"{prefix}-{i}";
                await client.PutAsync($"{prefix}-{i}", value);
            }
        }));
    }
}
