using BenchmarkDotNet.Attributes;
using Synod.Core;
using Synod.Core.Persistence;
using Synod.Simulation;
using Synod.Storage;

namespace Synod.Benchmarks;

/// <summary>
/// <see cref="ReplicaStorage.Append"/> of a group of AcceptOps and one <see cref="ReplicaStorage.Sync"/>: the owner loop
/// does exactly this for every Ready that holds persist ops, and no message leaves before it returns, so it sits on
/// the latency of every write. Each record carries one put of a 16-byte key and a 256-byte value. On the simulated disk
/// the figure is the WAL's CPU cost (size, encode, two CRC32Cs, the write buffer, the mirror of the durable state); on
/// the real disk it adds the pwrite and the fdatasync. Per record: divide by <see cref="RecordsPerSync"/>.
/// </summary>
[MemoryDiagnoser]
public class WalAppendBenchmarks
{
    /// <summary>
    /// Slots cycle through a window the size of ServerOptions.SnapshotEverySlots, the most a replica's mirror of its
    /// durable state holds between snapshots, so that it stays that big however many millions of records a run writes.
    /// Records past the first lap rewrite a slot the mirror has, where a real log would add one (and a snapshot later
    /// drop it): the figures leave out one tree-node insertion per record.
    /// </summary>
    private const int SlotWindow = 10_000;

    /// <summary>The simulated segment is emptied at this size, so that a run's memory stays flat (see <see cref="KeepFootprintFlat"/>).</summary>
    private const long SimulatedSegmentBytesMax = 16L * 1024 * 1024;

    private readonly List<PersistOp> _group = [];
    private AcceptOp[] _window = [];
    private long _nextSlot;
    private IDisk _disk = null!;
    private string _directory = "";
    private ReplicaStorage _storage = null!;
    private IDiskFile? _simulatedSegment;
    private long _segmentsCleared;

    [Params(WalDisk.Simulated, WalDisk.Real)]
    public WalDisk Disk { get; set; }

    [Params(1, 64, 256)]
    public int RecordsPerSync { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var ballot = new Ballot(7, 5);
        var value = SampleCommands.Value(seed: 21);
        var client = SampleCommands.ClientIds(1, seed: 22)[0];
        _window = new AcceptOp[SlotWindow];
        for (var i = 0; i < SlotWindow; i++)
        {
            _window[i] = new AcceptOp(i + 1, ballot, [SampleCommands.Put(client, (ulong)i + 1, i, value)]);
        }

        if (Disk == WalDisk.Real)
        {
            // SYNOD_BENCH_DIR picks the file system under test; the temp directory is on the root disk on the dev VM.
            var root = Environment.GetEnvironmentVariable("SYNOD_BENCH_DIR") is { Length: > 0 } chosen ? chosen : Path.GetTempPath();
            _directory = Path.Combine(root, $"synod-bench-wal-{Environment.ProcessId}");
            _disk = new RealDisk();
        }
        else
        {
            _directory = "/synod-bench-wal";
            _disk = new SimulatedDisk(new SeededRandom(23));
        }

        // The server's defaults: 64 MiB segments, 16 MiB records at most.
        _storage = ReplicaStorage.Open(_disk, _directory, replicaId: 5, StorageOpenMode.NewCluster, new StorageOptions(), _ => { });
        if (Disk == WalDisk.Simulated)
        {
            // A second handle on the segment the storage appends to, to empty it behind the storage's back.
            _simulatedSegment = _disk.Open(CurrentSegmentPath());
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _storage.Dispose();
        if (Disk == WalDisk.Real)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Benchmark]
    public long AppendAndSync()
    {
        // The server hands over its Ready's List<PersistOp>; a reused list keeps the harness from allocating.
        _group.Clear();
        for (var i = 0; i < RecordsPerSync; i++)
        {
            _group.Add(_window[_nextSlot++ % SlotWindow]);
        }

        _storage.Append(_group);
        _storage.Sync();
        KeepFootprintFlat();
        return _storage.RecordsWritten;
    }

    /// <summary>
    /// A run writes gigabytes. The simulated segment would hold them all in memory, and every new simulated file regrows
    /// its array from 4 KiB (allocations that are the model's, not the WAL's), so the one segment is emptied in place:
    /// it keeps its array, the storage sees a short segment and never rolls. On the real disk segments roll at 64 MiB
    /// as in production (a sync, a new file, a directory sync: amortised over ~200 000 records), and closed ones are
    /// deleted, as compaction after a snapshot would.
    /// </summary>
    private void KeepFootprintFlat()
    {
        if (_simulatedSegment is not null)
        {
            if (_simulatedSegment.Length >= SimulatedSegmentBytesMax)
            {
                _simulatedSegment.Truncate(0);
            }

            return;
        }

        if (_storage.SegmentsCreated != _segmentsCleared)
        {
            _segmentsCleared = _storage.SegmentsCreated;
            var walDirectory = Path.Combine(_directory, "wal");
            var current = Path.GetFileName(CurrentSegmentPath());
            foreach (var name in _disk.List(walDirectory).Where(name => name != current))
            {
                _disk.Delete(Path.Combine(walDirectory, name));
            }
        }
    }

    /// <summary>Segment names are zero-padded sequence numbers, so the current segment is the last in ordinal order.</summary>
    private string CurrentSegmentPath()
    {
        var walDirectory = Path.Combine(_directory, "wal");
        return Path.Combine(walDirectory, _disk.List(walDirectory).Last(name => name.EndsWith(".wal", StringComparison.Ordinal)));
    }
}
