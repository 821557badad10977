using System.Text.Json;
using Synod.Cli;
using Synod.Client;
using Synod.Tests.Cluster;

namespace Synod.Tests.Deploy;

/// <summary>
/// Issue 20, backup and restore: `synod snapshot save` writes every key of a running cluster as of one revision with a
/// SHA-256; `synod snapshot restore` puts them into a fresh cluster, where every key reads back as it was, and
/// `restore --id` seeds a new cluster's data directories, where every key also keeps its revisions. A damaged file is
/// refused before anything is written, and so is a cluster that holds keys or a directory that holds state.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class SnapshotCommandTests
{
    private const int Keys = 250;

    [Fact]
    public async Task A_saved_snapshot_restores_into_a_fresh_cluster_key_for_key_and_a_damaged_one_is_refused()
    {
        var file = Path.Combine(Path.GetTempPath(), $"synod-snapshot-{Guid.NewGuid():N}.snap");
        try
        {
            var expected = new Dictionary<string, byte[]>();
            var revisions = new Dictionary<string, (long Create, long Mod, long Version)>();
            long savedRevision;
            await using (var source = new ReplicaProcesses(3))
            {
                await source.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
                await using var client = new SynodClient(new SynodClientOptions { Endpoints = source.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
                var random = new Random(7);
                for (var i = 0; i < Keys; i++)
                {
                    var value = new byte[i == 0 ? 100_000 : random.Next(0, 64)];
                    random.NextBytes(value);
                    expected[$"app/{i:D4}"] = value;
                    await client.PutAsync(System.Text.Encoding.UTF8.GetBytes($"app/{i:D4}"), value);
                }

                // Overwritten and deleted keys are saved as they stand.
                await client.PutAsync("app/0001", "second value");
                expected["app/0001"] = "second value"u8.ToArray();
                await client.DeleteAsync("app/0002");
                expected.Remove("app/0002");

                var save = await CliExitCodeTests.RunAsync("snapshot", "save", file, "--endpoints", string.Join(",", source.EndpointList), "--json");
                Assert.True(save.ExitCode == ExitCodes.Ok, $"exit {save.ExitCode}: {save.Stderr}");
                using var saved = JsonDocument.Parse(save.Stdout);
                Assert.Equal(expected.Count, saved.RootElement.GetProperty("keys").GetInt64());
                Assert.Equal(64, saved.RootElement.GetProperty("sha256").GetString()!.Length);
                savedRevision = saved.RootElement.GetProperty("revision").GetInt64();
                await foreach (var kv in client.RangeAllAsync(SynodRange.Prefix("")))
                {
                    revisions[kv.KeyAsString()] = (kv.CreateRevision, kv.ModRevision, kv.Version);
                }
            }

            await using var target = new ReplicaProcesses(3);
            await target.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var endpoints = string.Join(",", target.EndpointList);

            // One flipped byte in the middle: the checksum refuses the file, and nothing is written.
            var damaged = file + ".damaged";
            var bytes = await File.ReadAllBytesAsync(file);
            bytes[bytes.Length / 2] ^= 0x40;
            await File.WriteAllBytesAsync(damaged, bytes);
            var refused = await CliExitCodeTests.RunAsync("snapshot", "restore", damaged, "--endpoints", endpoints);
            CliExitCodeTests.AssertFailure(refused, ExitCodes.InvalidInput, "fails its SHA-256 checksum");
            File.Delete(damaged);

            var restore = await CliExitCodeTests.RunAsync("snapshot", "restore", file, "--endpoints", endpoints, "--json");
            Assert.True(restore.ExitCode == ExitCodes.Ok, $"exit {restore.ExitCode}: {restore.Stderr}");
            using (var restored = JsonDocument.Parse(restore.Stdout))
            {
                Assert.Equal(expected.Count, restored.RootElement.GetProperty("keys").GetInt64());
            }

            await using var reader = new SynodClient(new SynodClientOptions { Endpoints = target.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
            var found = new Dictionary<string, byte[]>();
            await foreach (var kv in reader.RangeAllAsync(SynodRange.Prefix("")))
            {
                found[kv.KeyAsString()] = kv.Value.ToArray();
            }

            Assert.Equal(expected.Keys.Order(), found.Keys.Order());
            Assert.All(expected, e => Assert.True(e.Value.AsSpan().SequenceEqual(found[e.Key]), $"{e.Key} differs after the restore"));

            // A second restore would put the keys again over the first: refused, naming how many the cluster holds.
            var again = await CliExitCodeTests.RunAsync("snapshot", "restore", file, "--endpoints", endpoints);
            CliExitCodeTests.AssertFailure(again, ExitCodes.InvalidInput, $"holds {expected.Count} keys already");

            // Seeded data directories: the same keys with the revisions they were saved with, and the next write after them.
            await using var seeded = ReplicaProcesses.Seeded(3, (id, directory, peers) =>
            {
                var seed = CliExitCodeTests.RunAsync("snapshot", "restore", file, "--id", $"{id}", "--peers", peers, "--data-dir", directory).GetAwaiter().GetResult();
                Assert.True(seed.ExitCode == ExitCodes.Ok, $"exit {seed.ExitCode}: {seed.Stderr}");
                var twice = CliExitCodeTests.RunAsync("snapshot", "restore", file, "--id", $"{id}", "--peers", peers, "--data-dir", directory).GetAwaiter().GetResult();
                CliExitCodeTests.AssertFailure(twice, ExitCodes.InvalidInput, "is not empty");
            }, "--insecure-peers");
            await seeded.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            await using var seededClient = new SynodClient(new SynodClientOptions { Endpoints = seeded.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
            var seededKeys = 0;
            await foreach (var kv in seededClient.RangeAllAsync(SynodRange.Prefix("")))
            {
                Assert.True(expected[kv.KeyAsString()].AsSpan().SequenceEqual(kv.Value.Span), $"{kv.KeyAsString()} differs after the seeded restore");
                Assert.Equal(revisions[kv.KeyAsString()], (kv.CreateRevision, kv.ModRevision, kv.Version));
                seededKeys++;
            }

            Assert.Equal(expected.Count, seededKeys);
            var next = await seededClient.PutAsync("after-restore", "v");
            Assert.Equal(savedRevision + 1, next.Revision);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
