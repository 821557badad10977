using System.Diagnostics;
using Synod.Core.Persistence;
using Synod.Core;
using Synod.Storage;

namespace Synod.Bench;

/// <summary>
/// How fast the WAL makes records durable on this machine's disk, against what the disk itself allows: first the raw
/// rate of 4 KiB appends each followed by a sync, then <see cref="ReplicaStorage"/> appends of AcceptOps carrying one
/// 256-byte command, a Sync after every batch, for batches of 1, 8, 64 and 256 records. Group commit should keep the
/// WAL's syncs per second near the raw rate while the records per second grow with the batch.
/// </summary>
public static class WalBenchmark
{
    public const int RawWriteBytes = 4096;
    public const int CommandBytes = 256;

    /// <summary>A row stops after this many syncs even if its time is not up (a disk with a volatile cache is fast).</summary>
    public const int RowSyncsMax = 200_000;

    /// <summary>Untimed syncs before each row, so that file creation and JIT do not count.</summary>
    private const int WarmUpSyncs = 20;

    private static readonly int[] BatchSizes = [1, 8, 64, 256];

    public static IReadOnlyList<WalBenchmarkRow> Run(string directory, TextWriter output, TimeSpan rowDuration)
    {
        var disk = new RealDisk();
        disk.CreateDirectory(directory);
        output.WriteLine($"WAL benchmark in {directory}: RealDisk, {(OperatingSystem.IsLinux() ? "fdatasync" : "FileStream.Flush(true)")}, " +
            $"at most {rowDuration.TotalSeconds:0.#} s or {RowSyncsMax} syncs per row.");
        var rows = new List<WalBenchmarkRow> { MeasureRawSync(disk, Path.Combine(directory, "raw.bin"), rowDuration) };
        foreach (var batch in BatchSizes)
        {
            rows.Add(MeasureWal(disk, Path.Combine(directory, $"wal-batch-{batch}"), batch, rowDuration));
        }

        WriteTable(output, rows);
        return rows;
    }

    private static WalBenchmarkRow MeasureRawSync(IDisk disk, string path, TimeSpan rowDuration)
    {
        var block = new byte[RawWriteBytes];
        new Random(1).NextBytes(block);
        using var file = disk.Open(path);
        return Measure($"raw {RawWriteBytes / 1024} KiB + sync", 1, RawWriteBytes, rowDuration, () =>
        {
            file.Append(block);
            file.Sync();
        });
    }

    private static WalBenchmarkRow MeasureWal(IDisk disk, string directory, int batch, TimeSpan rowDuration)
    {
        using var storage = ReplicaStorage.Open(disk, directory, 1, StorageOpenMode.NewCluster, new StorageOptions(), _ => { });
        var command = new byte[CommandBytes];
        new Random(2).NextBytes(command);
        var ballot = new Ballot(1, 1);
        var ops = new PersistOp[batch];
        long slot = 0;
        var bytesBefore = storage.BytesWritten;
        var row = Measure($"wal batch {batch}", batch, 0, rowDuration, () =>
        {
            for (var i = 0; i < batch; i++)
            {
                ops[i] = new AcceptOp(++slot, ballot, [command]);
            }

            storage.Append(ops);
            storage.Sync();
        });
        var recordBytes = (storage.BytesWritten - bytesBefore) / Math.Max(1, slot);
        return row with { Bytes = row.Records * recordBytes };
    }

    /// <summary>Runs the step (one sync each) until the time or the count is up; bytes per step are filled in by the caller for the WAL.</summary>
    private static WalBenchmarkRow Measure(string name, int recordsPerStep, int bytesPerStep, TimeSpan rowDuration, Action step)
    {
        for (var i = 0; i < WarmUpSyncs; i++)
        {
            step();
        }

        var latencies = new List<long>();
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(rowDuration.TotalSeconds * Stopwatch.Frequency);
        var now = started;
        while (now < deadline && latencies.Count < RowSyncsMax)
        {
            step();
            var after = Stopwatch.GetTimestamp();
            latencies.Add(after - now);
            now = after;
        }

        latencies.Sort();
        var seconds = (double)(now - started) / Stopwatch.Frequency;
        var syncs = latencies.Count;
        return new WalBenchmarkRow(name, recordsPerStep, syncs, (long)syncs * recordsPerStep, (long)syncs * bytesPerStep, seconds,
            Microseconds(latencies[syncs / 2]), Microseconds(latencies[Math.Min(syncs - 1, syncs * 99 / 100)]));
    }

    private static double Microseconds(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;

    private static void WriteTable(TextWriter output, IReadOnlyList<WalBenchmarkRow> rows)
    {
        var raw = rows[0].SyncsPerSecond;
        output.WriteLine();
        output.WriteLine($"{"row",-20} {"syncs/s",10} {"records/s",11} {"MiB/s",8} {"p50 µs",9} {"p99 µs",9} {"syncs vs raw",13}");
        foreach (var row in rows)
        {
            output.WriteLine($"{row.Name,-20} {row.SyncsPerSecond,10:0} {row.RecordsPerSecond,11:0} {row.MegabytesPerSecond,8:0.0} " +
                $"{row.P50Microseconds,9:0} {row.P99Microseconds,9:0} {row.SyncsPerSecond / raw,13:0.00}");
        }
    }
}
