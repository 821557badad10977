using System.Buffers.Binary;
using System.IO.Hashing;
using Synod.Cli;
using Synod.Core.Persistence;
using Synod.Kv;
using Synod.Server;
using Synod.Storage;
using Synod.Tests.Cluster;

namespace Synod.Tests.Server;

/// <summary>
/// A data directory this build must not restore refuses the start with one line and exit 1, as every refused start of
/// the storage does, instead of failing in the owner loop (a crash a service manager would restart for ever).
/// </summary>
public sealed class UpgradeRefusalTests
{
    /// <summary>A valid snapshot of the build before lease owners (format 6): users and auth, no owner count.</summary>
    private static byte[] Format6Snapshot()
    {
        var machine = new KvStateMachine();
        var register = new KvCommand(0, 1, KvOperation.Register, [], []).Encode();
        var client = machine.ApplySlot(1, [register])[0].RegisteredClientId;
        var addRoot = KvCommand.ChangeAuth(client, 1, new(KvAuthChangeKind.UserAdd, Name: "root", SecretBytes: [1, 2, 3]), "").Encode();
        Assert.Equal(KvStatus.Ok, machine.ApplySlot(2, [addRoot])[0].Status);
        var snapshot = machine.Snapshot();
        Assert.Equal(KvStateMachine.SnapshotFormatVersionAuth, snapshot[4]);
        Assert.Equal(0, snapshot[^1]);
        var format6 = snapshot[..^1];
        format6[4] = 6;
        BinaryPrimitives.WriteUInt64LittleEndian(format6.AsSpan(5), (ulong)(format6.Length - 17));
        BinaryPrimitives.WriteUInt32LittleEndian(format6.AsSpan(13), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, format6.AsSpan(17)));
        return format6;
    }

    /// <summary>
    /// The snapshot as a replica stores it: the core's configuration header (magic "SYCF", version 1, one configuration
    /// chosen at 0 and in effect from 1, its members in a configuration command's encoding), then the state machine's.
    /// </summary>
    private static byte[] Enveloped(byte[] shell, IEnumerable<int> ids)
    {
        var members = new Synod.Core.ConfigurationCommand(3, 0, [.. ids.Select(id => new Synod.Core.ConfigurationMember(id, true, $"127.0.0.1:{7000 + id}"))]).Encode();
        var header = new byte[6 + 20];
        "SYCF"u8.CopyTo(header);
        header[4] = 1;
        header[5] = 1;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(6), 0);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(14), 1);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(22), members.Length);
        return [.. header, .. members, .. shell];
    }

    // Stored as every replica of this build and of the build before lease owners stores it (enveloped), and bare as
    // a snapshot from before membership changes is. The enveloped case is the one a real upgrade meets: the check once
    // looked at the envelope's first bytes and let every such snapshot through to the owner loop.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_replica_whose_snapshot_the_build_before_lease_owners_wrote_refuses_to_start_naming_the_upgrade_path(bool enveloped)
    {
        var endpoints = ReplicaProcesses.NewEndpoints(3);
        var peers = string.Join(",", endpoints.Select(e => $"{e.Key}={e.Value}"));
        var options = new ServerOptions { Id = 1, Endpoints = endpoints, DataDir = "" };
        var directory = Directory.CreateTempSubdirectory("synod-format6-");
        try
        {
            var data = Path.Combine(directory.FullName, "data");
            using (var storage = ReplicaStorage.Open(new RealDisk(), data, 1, StorageOpenMode.NewCluster, new StorageOptions(), _ => { }, options.ClusterId))
            {
                storage.Append([new SnapshotOp(2, enveloped ? Enveloped(Format6Snapshot(), [1, 2, 3]) : Format6Snapshot())]);
            }

            var run = await CliExitCodeTests.RunAsync("serve", "--id", "1", "--peers", peers, "--data-dir", data, "--insecure-peers");
            CliExitCodeTests.AssertFailure(run, ExitCodes.Failure, "peer version 7");
            Assert.Contains("format 6", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
