using System.Buffers.Binary;
using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Synod.Client;
using Synod.Protocol;

namespace Synod.Cli;

/// <summary>
/// `synod snapshot save FILE` and `synod snapshot restore FILE` (docs/deploy.md, "Backup and restore"): a logical backup
/// of every key of a running cluster as of one revision, read page by page at that revision (so the pages are one
/// state), written with a SHA-256 over the whole file; and its restore into a running cluster that holds no keys, in
/// transactions. What a key held is kept (value, and its create and mod revision and version in the file); the restored
/// keys get the new cluster's revisions. Leases, users and roles are not in the file.
/// </summary>
internal static class SnapshotCommands
{
    /// <summary>The file's first bytes: "SYNODSNP" and the format version.</summary>
    private static readonly byte[] Magic = "SYNODSNP"u8.ToArray();

    private const int FormatVersion = 1;

    /// <summary>Header: magic, format version (4 bytes), revision (8), key count (8).</summary>
    private const int HeaderBytes = 8 + 4 + 8 + 8;

    private const int ChecksumBytes = 32;

    /// <summary>The most keys and bytes one restore transaction carries (the server's limits are 128 operations, 1 MiB + 1 KiB).</summary>
    private const int RestoreOpsPerTxnMax = 128;

    private const int RestoreBytesPerTxnMax = 900 * 1024;

    /// <summary>The slot a seeded data directory's snapshot stands for: the first, the same on every replica seeded.</summary>
    private const long SeedSlot = 1;

    /// <summary>How often a long save or restore reports its progress on stderr, in keys.</summary>
    private const int ProgressEveryKeys = 10_000;

    public static Command Snapshot()
    {
        var command = new Command("snapshot", "Save every key of a running cluster as of one revision to a file, or restore such a file into a cluster that holds no keys.");
        command.Subcommands.Add(Save());
        command.Subcommands.Add(Restore());
        return command;
    }

    private static Command Save()
    {
        var file = new Argument<string>("file") { Description = "Where to write the snapshot (written to FILE.part, synced, then renamed)." };
        var json = ClientCommands.JsonOption("{\"file\", \"revision\", \"keys\", \"bytes\", \"sha256\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("save", "Save every key of the cluster, as of one revision, to FILE with a SHA-256 checksum; prints the revision, key count and checksum.") { file, json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, (_, client, options) =>
            SaveAsync(client, options, Path.GetFullPath(parse.GetValue(file)!), parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    private static Command Restore()
    {
        var file = new Argument<string>("file") { Description = "A file written by synod snapshot save." };
        var json = ClientCommands.JsonOption("{\"file\", \"saved_revision\", \"keys\", \"revision\"} (with --id: {\"file\", \"saved_revision\", \"keys\", \"id\", \"data_dir\", \"slot\"})");
        var id = new Option<int?>("--id")
        {
            Description = "Seed replica ID's --data-dir for a new cluster instead of writing through a running one: the keys keep their revisions. " +
                "Give every replica of the new cluster the same FILE, --peers (or --config) and --cluster-token, then start each with synod serve.",
        };
        var peers = new Option<string?>("--peers") { Description = "With --id: every replica of the new cluster, as serve takes it (1=HOST:PORT,2=HOST:PORT,...)." };
        var config = new Option<string?>("--config") { Description = "With --id: a cluster.json listing the new cluster's replicas (instead of --peers)." };
        var clusterToken = new Option<string?>("--cluster-token") { Description = "With --id: the new cluster's --cluster-token, as its replicas will be served with." };
        var shared = new ClientCommandOptions();
        var command = new Command("restore",
            "Check FILE's checksum, then write every key in it into the cluster, which must hold no keys; prints how many and the revision reached. " +
            "With --id, seed that replica's empty --data-dir instead (every replica of a new cluster, one by one, before any starts).")
        { file, json, id, peers, config, clusterToken };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) =>
        {
            var path = Path.GetFullPath(parse.GetValue(file)!);
            if (parse.GetValue(id) is not { } replica)
            {
                return ClientCommands.Run(parse, shared, (_, client, options) => RestoreAsync(client, options, path, parse.GetValue(json), cancellationToken), cancellationToken);
            }

            return SeedAsync(parse, shared, path, replica, parse.GetValue(peers), parse.GetValue(config), parse.GetValue(clusterToken), parse.GetValue(json), cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// `restore FILE --id ID --data-dir DIR`: the keys, with the revisions they were saved with, become replica ID's
    /// snapshot at slot 1 of a new cluster, written as a snapshot installed from a peer is (synced before the call
    /// returns). Every replica seeded from the same file holds the same snapshot, so the cluster starts from it.
    /// </summary>
    private static async Task<int> SeedAsync(
        System.CommandLine.ParseResult parse, ClientCommandOptions shared, string path, int replica, string? peers, string? config, string? clusterToken, bool json, CancellationToken cancellationToken)
    {
        try
        {
            if (parse.GetResult(shared.Endpoints) is not null || parse.GetResult(shared.Node) is not null || parse.GetResult(shared.User) is not null)
            {
                throw new ClientInputException("--id seeds a data directory and talks to no cluster: give --peers or --config and --data-dir, not --endpoints, --node or --user.");
            }

            if (parse.GetResult(shared.DataDir) is not { Implicit: false })
            {
                throw new ClientInputException("--id needs --data-dir: the empty directory replica ID will be served from.");
            }

            var directory = Path.GetFullPath(parse.GetValue(shared.DataDir)!);
            if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            {
                throw new ClientInputException($"{directory} is not empty: seed only a new, empty data directory (a replica's state is never overwritten).");
            }

            ClusterConfig cluster;
            try
            {
                cluster = ServeCommand.LoadCluster(peers, config);
            }
            catch (Exception e) when (e is FormatException or IOException)
            {
                throw new ClientInputException(e.Message, e);
            }

            if (cluster.Replicas.All(r => r.Id != replica))
            {
                throw new ClientInputException($"--id {replica} is not among the replicas ({string.Join(", ", cluster.Replicas.Select(r => r.Id))}).");
            }

            if (!File.Exists(path))
            {
                throw new ClientInputException($"{path} does not exist; give a file written by synod snapshot save.");
            }

            var (savedRevision, count) = await VerifyAsync(path, cancellationToken);
            var entries = new List<(byte[] Key, Synod.Kv.KvEntry Entry)>();
            await using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                input.Seek(HeaderBytes, SeekOrigin.Begin);
                for (long i = 0; i < count; i++)
                {
                    var (key, value, create, modified, version) = await ReadEntryAsync(input, path, cancellationToken);
                    entries.Add((key, new Synod.Kv.KvEntry(value, create, modified, version)));
                    if ((i + 1) % ProgressEveryKeys == 0)
                    {
                        await Console.Error.WriteLineAsync($"read {i + 1:N0} of {count:N0} keys");
                    }
                }
            }

            byte[] snapshot;
            var snapshotBytesMax = new Synod.Storage.StorageOptions().SnapshotBytesMax;
            try
            {
                var seeded = Synod.Kv.KvStateMachine.Seeded(SeedSlot, savedRevision, entries);
                if (seeded.DataBytes > Synod.Driver.DriverOptions.QuotaBytesDefault)
                {
                    // The largest quota serve takes with the default history and sessions.
                    var defaults = Synod.Server.ServerOptions.Defaults;
                    var quotaMax = Synod.Server.ServerOptions.QuotaBytesMax(Synod.Server.ServerOptions.CoreDefaults.SnapshotBytesMax, defaults.HistoryBytes, defaults.SessionsMax);
                    await Console.Error.WriteLineAsync(
                        $"warning: the keys and values take {seeded.DataBytes} bytes, past the default write quota of {Synod.Driver.DriverOptions.QuotaBytesDefault} bytes: " +
                        (seeded.DataBytes <= quotaMax
                            ? $"serve every replica with --quota-bytes of at least that (at most {quotaMax} with the default --history-bytes and --sessions-max), or only deletes and writes that do not grow the data will be taken."
                            : $"more than the largest quota serve takes with the default --history-bytes and --sessions-max ({quotaMax}): the cluster will take only deletes and writes that do not grow the data until keys are deleted."));
                }

                snapshot = seeded.Snapshot(snapshotBytesMax);
            }
            catch (Synod.Kv.KvFormatException e)
            {
                throw new ClientInputException($"{path}: {e.Message}", e);
            }
            catch (Synod.Kv.KvSnapshotTooLargeException e)
            {
                throw new ClientInputException(
                    $"{path}: nothing was seeded: its {count} keys make a snapshot of {e.Bytes} bytes, over the {snapshotBytesMax} bytes a replica's snapshot may have (SnapshotBytesMax), " +
                    "so no cluster can hold them; restore a part of the keys, or split them between clusters.", e);
            }

            var options = new Synod.Server.ServerOptions
            {
                Id = replica,
                Endpoints = cluster.Replicas.ToDictionary(r => r.Id, r => r.Endpoint),
                DataDir = directory,
                ClusterToken = clusterToken ?? cluster.ClusterToken ?? Synod.Server.ServerOptions.ClusterTokenDefault,
            };
            try
            {
                using var storage = Synod.Storage.ReplicaStorage.Open(
                    new Synod.Storage.RealDisk(), directory, replica, Synod.Storage.StorageOpenMode.NewCluster, new Synod.Storage.StorageOptions(), _ => { }, options.ClusterId);
                storage.Append([new Synod.Core.Persistence.SnapshotOp(SeedSlot, snapshot)]);
                storage.Sync();
            }
            catch (Exception e) when (e is Synod.Storage.StorageException or IOException or UnauthorizedAccessException)
            {
                // Half a seed must not be served: without its snapshot the directory would start as an empty member.
                foreach (var entry in Directory.Exists(directory) ? new DirectoryInfo(directory).EnumerateFileSystemInfos() : [])
                {
                    if (entry is DirectoryInfo sub)
                    {
                        sub.Delete(recursive: true);
                    }
                    else
                    {
                        entry.Delete();
                    }
                }

                throw new ClientInputException($"{directory}: nothing was seeded: {e.Message}", e);
            }

            await Console.Out.WriteLineAsync(json
                ? JsonSerializer.Serialize(new { file = path, saved_revision = savedRevision, keys = count, id = replica, data_dir = directory, slot = SeedSlot })
                : $"seeded replica {replica}'s {directory} with {count:N0} keys saved at revision {savedRevision} from {path}; seed every replica of the new cluster from this file, then start each with synod serve (without --new-cluster)");
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is ClientInputException || (e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            await Console.Error.WriteLineAsync(ClientErrors.Line(e));
            return ClientErrors.ExitCode(e);
        }
    }

    private static async Task<int> SaveAsync(SynodClient client, SynodCallOptions? options, string path, bool json, CancellationToken cancellationToken)
    {
        // One linearizable read fixes the revision; every page is then read at it.
        var all = new SynodRange(ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty);
        var first = await client.RangeAsync(all with { CountOnly = true }, stale: false, options, cancellationToken);
        var revision = first.Revision;
        var part = path + ".part";
        long keys = 0;
        byte[] checksum;
        await using (var output = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            async Task WriteAsync(byte[] bytes)
            {
                hash.AppendData(bytes);
                await output.WriteAsync(bytes, cancellationToken);
            }

            await WriteAsync(Header(revision, first.Count));
            if (revision > 0)
            {
                await foreach (var kv in client.RangeAllAsync(all with { Revision = revision }, stale: false, options, cancellationToken))
                {
                    await WriteAsync(Entry(kv));
                    if (++keys % ProgressEveryKeys == 0)
                    {
                        await Console.Error.WriteLineAsync($"saved {keys:N0} of {first.Count:N0} keys");
                    }
                }
            }

            if (keys != first.Count)
            {
                throw new ClientInputException($"the cluster held {first.Count} keys at revision {revision} but {keys} were read; save again.");
            }

            checksum = hash.GetHashAndReset();
            await output.WriteAsync(checksum, cancellationToken);
            await output.FlushAsync(cancellationToken);
            output.Flush(flushToDisk: true);
        }

        File.Move(part, path, overwrite: true);
        var bytes = new FileInfo(path).Length;
        var sha = Convert.ToHexStringLower(checksum);
        await Console.Out.WriteLineAsync(json
            ? JsonSerializer.Serialize(new { file = path, revision, keys, bytes, sha256 = sha })
            : $"saved {keys:N0} keys as of revision {revision} to {path} ({bytes:N0} bytes, sha256 {sha})");
        return ExitCodes.Ok;
    }

    private static async Task<int> RestoreAsync(SynodClient client, SynodCallOptions? options, string path, bool json, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new ClientInputException($"{path} does not exist; give a file written by synod snapshot save.");
        }

        var (savedRevision, count) = await VerifyAsync(path, cancellationToken);
        var held = await client.RangeAsync(new SynodRange(ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, CountOnly: true), stale: false, options, cancellationToken);
        if (held.Count != 0)
        {
            throw new ClientInputException($"the cluster holds {held.Count} keys already (revision {held.Revision}); restore into a cluster that holds none.");
        }

        long restored = 0;
        long revision = held.Revision;
        var batch = new List<TxnOp>();
        var batchBytes = 0;
        async Task FlushAsync()
        {
            if (batch.Count == 0)
            {
                return;
            }

            var result = await client.Txn().Then([.. batch]).CommitAsync(options, cancellationToken);
            revision = result.Revision;
            restored += batch.Count;
            batch.Clear();
            batchBytes = 0;
            if (restored % ProgressEveryKeys < RestoreOpsPerTxnMax)
            {
                await Console.Error.WriteLineAsync($"restored {restored:N0} of {count:N0} keys");
            }
        }

        await using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            input.Seek(HeaderBytes, SeekOrigin.Begin);
            for (long i = 0; i < count; i++)
            {
                var (key, value, _, _, _) = await ReadEntryAsync(input, path, cancellationToken);
                if (batch.Count == RestoreOpsPerTxnMax || batchBytes + key.Length + value.Length > RestoreBytesPerTxnMax)
                {
                    await FlushAsync();
                }

                batch.Add(SynodTxn.Put(key, value));
                batchBytes += key.Length + value.Length;
            }

            await FlushAsync();
        }

        await Console.Out.WriteLineAsync(json
            ? JsonSerializer.Serialize(new { file = path, saved_revision = savedRevision, keys = restored, revision })
            : $"restored {restored:N0} keys saved at revision {savedRevision} from {path}; the cluster is now at revision {revision}");
        return ExitCodes.Ok;
    }

    /// <summary>Checks the header and the SHA-256 over the whole file before anything is written; returns the saved revision and key count.</summary>
    private static async Task<(long Revision, long Count)> VerifyAsync(string path, CancellationToken cancellationToken)
    {
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (input.Length < HeaderBytes + ChecksumBytes)
        {
            throw new ClientInputException($"{path} is {input.Length} bytes, too short for a Synod snapshot; give a file written by synod snapshot save.");
        }

        var header = new byte[HeaderBytes];
        await input.ReadExactlyAsync(header, cancellationToken);
        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new ClientInputException($"{path} is not a Synod snapshot (it does not begin with SYNODSNP); give a file written by synod snapshot save.");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
        if (version != FormatVersion)
        {
            throw new ClientInputException($"{path} is a snapshot of format {version}; this synod reads format {FormatVersion}.");
        }

        var revision = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(12));
        var count = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(20));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        var buffer = new byte[1 << 16];
        var left = input.Length - HeaderBytes - ChecksumBytes;
        while (left > 0)
        {
            var read = await input.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
            hash.AppendData(buffer, 0, read);
            left -= read;
        }

        var stored = new byte[ChecksumBytes];
        await input.ReadExactlyAsync(stored, cancellationToken);
        if (!CryptographicOperations.FixedTimeEquals(stored, hash.GetHashAndReset()))
        {
            throw new ClientInputException($"{path} fails its SHA-256 checksum: it was damaged or cut short after it was saved; nothing was restored.");
        }

        if (revision < 0 || count < 0)
        {
            throw new ClientInputException($"{path} says revision {revision} and {count} keys; a snapshot's are never negative.");
        }

        return (revision, count);
    }

    private static byte[] Header(long revision, long count)
    {
        var header = new byte[HeaderBytes];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(12), revision);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(20), count);
        return header;
    }

    /// <summary>One key: key length (4), key, value length (4), value, create revision, mod revision, version (8 each).</summary>
    private static byte[] Entry(SynodKeyValue kv)
    {
        var entry = new byte[4 + kv.Key.Length + 4 + kv.Value.Length + 24];
        var span = entry.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, kv.Key.Length);
        kv.Key.Span.CopyTo(span[4..]);
        var at = 4 + kv.Key.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], kv.Value.Length);
        kv.Value.Span.CopyTo(span[(at + 4)..]);
        at += 4 + kv.Value.Length;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], kv.CreateRevision);
        BinaryPrimitives.WriteInt64LittleEndian(span[(at + 8)..], kv.ModRevision);
        BinaryPrimitives.WriteInt64LittleEndian(span[(at + 16)..], kv.Version);
        return entry;
    }

    /// <summary>Reads one entry, checking each length against the store's limits before allocating for it.</summary>
    private static async Task<(byte[] Key, byte[] Value, long Create, long Modified, long Version)> ReadEntryAsync(Stream input, string path, CancellationToken cancellationToken)
    {
        var length = new byte[4];
        await input.ReadExactlyAsync(length, cancellationToken);
        var keyLength = BinaryPrimitives.ReadInt32LittleEndian(length);
        if (keyLength is < 1 or > Synod.Kv.KvLimits.KeyBytesMax)
        {
            throw new ClientInputException($"{path} holds a key of {keyLength} bytes at offset {input.Position - 4}; keys are 1 to {Synod.Kv.KvLimits.KeyBytesMax} bytes.");
        }

        var key = new byte[keyLength];
        await input.ReadExactlyAsync(key, cancellationToken);
        await input.ReadExactlyAsync(length, cancellationToken);
        var valueLength = BinaryPrimitives.ReadInt32LittleEndian(length);
        if (valueLength is < 0 or > Synod.Kv.KvLimits.ValueBytesMax)
        {
            throw new ClientInputException($"{path} holds a value of {valueLength} bytes at offset {input.Position - 4}; values are 0 to {Synod.Kv.KvLimits.ValueBytesMax} bytes.");
        }

        var value = new byte[valueLength];
        await input.ReadExactlyAsync(value, cancellationToken);
        var revisions = new byte[24];
        await input.ReadExactlyAsync(revisions, cancellationToken);
        return (key, value, BinaryPrimitives.ReadInt64LittleEndian(revisions), BinaryPrimitives.ReadInt64LittleEndian(revisions.AsSpan(8)), BinaryPrimitives.ReadInt64LittleEndian(revisions.AsSpan(16)));
    }
}
