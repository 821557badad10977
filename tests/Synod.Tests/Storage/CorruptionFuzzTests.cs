using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// Damage to a real WAL file, seeded: a truncation anywhere recovers exactly the whole records before the cut; a
/// flipped byte anywhere is refused with a message naming the file, the record's offset and --rebuild-from-peers.
/// Never another exception type, never a different value.
/// </summary>
public sealed class CorruptionFuzzTests
{
    private const int Cases = 400;
    private const ulong Seed = 20240611;

    [Fact]
    public void Truncating_or_flipping_bytes_of_a_real_segment_recovers_whole_records_or_refuses()
    {
        using var temp = new TempDirectory();
        var (ops, ends) = WriteLog(temp.Path);
        var segment = Path.Combine(temp.Path, "wal", "00000000000000000001.wal");

        // The last segment ends in zeros allocated ahead (AllocateAheadTests covers them); damage is fuzzed in the records.
        var written = File.ReadAllBytes(segment);
        Assert.True(written.AsSpan((int)ends[^1]).IndexOfAnyExcept((byte)0) < 0, "something other than zeros follows the last record");
        var original = written[..(int)ends[^1]];
        File.WriteAllBytes(segment, original);
        var random = new SeededRandom(Seed);
        var refusals = 0;
        for (var i = 0; i < Cases; i++)
        {
            if (i % 2 == 0)
            {
                CheckTruncation(temp.Path, segment, original, ops, ends, random.Next(original.Length + 1));
            }
            else
            {
                refusals += CheckFlip(temp.Path, segment, original, ends, random.Next(original.Length), (byte)(1 + random.Next(255)));
            }
        }

        Assert.Equal(Cases / 2, refusals);
    }

    [Fact]
    public void A_flipped_byte_in_the_meta_file_or_the_snapshot_is_refused_with_the_file_name()
    {
        using var temp = new TempDirectory();
        var disk = new RealDisk();
        using (var storage = Stores.Open(disk, temp.Path, StorageOpenMode.NewCluster))
        {
            SegmentAndSnapshotTests.AppendChosen(storage, 1, 10);
            storage.Append([new SnapshotOp(5, new OpGenerator(3).Bytes(300))]);
            Stores.RunPendingSnapshot(storage);
        }

        var random = new SeededRandom(Seed);
        foreach (var path in new[] { Path.Combine(temp.Path, "synod.meta"), Path.Combine(temp.Path, "snap", "00000000000000000005.snap") })
        {
            var original = File.ReadAllBytes(path);
            for (var offset = 0; offset < original.Length; offset++)
            {
                var damaged = (byte[])original.Clone();
                damaged[offset] ^= (byte)(1 + random.Next(255));
                File.WriteAllBytes(path, damaged);

                var error = Assert.Throws<StorageException>(() => Stores.Open(disk, temp.Path).Dispose());

                Assert.Contains(path, error.Message, StringComparison.Ordinal);
                Assert.Contains("--rebuild-from-peers", error.Message, StringComparison.Ordinal);
            }

            File.WriteAllBytes(path, original);
        }
    }

    /// <summary>A log of generated ops, one per append, and where each record ends.</summary>
    private static (List<PersistOp> Ops, List<long> Ends) WriteLog(string directory)
    {
        var generator = new OpGenerator(Seed, commandBytesMax: 200);
        var ops = new List<PersistOp>();
        var ends = new List<long>();
        using var storage = Stores.Open(new RealDisk(), directory, StorageOpenMode.NewCluster);
        for (var i = 0; i < 120; i++)
        {
            var op = generator.Next();
            storage.Append([op]);
            ops.Add(op);
            ends.Add(storage.WalBytes);
            if (i % 3 == 0)
            {
                storage.Sync();
            }
        }

        storage.Sync();
        return (ops, ends);
    }

    private static void CheckTruncation(string directory, string segment, byte[] original, List<PersistOp> ops, List<long> ends, int length)
    {
        File.WriteAllBytes(segment, original[..length]);
        var log = new List<string>();
        using var storage = Stores.Open(new RealDisk(), directory, log: log);

        var whole = ends.Count(end => end <= length);
        Assert.Equal(StateText.Describe(StateText.Fold(ops.Take(whole))), StateText.Describe(storage.State));
        var cut = length - (whole == 0 ? 0 : ends[whole - 1]);
        Assert.Equal(cut > 0 ? 1 : 0, log.Count(line => line.Contains("torn", StringComparison.Ordinal)));
        Assert.Equal(length - cut, new FileInfo(segment).Length);
    }

    private static int CheckFlip(string directory, string segment, byte[] original, List<long> ends, int offset, byte mask)
    {
        var damaged = (byte[])original.Clone();
        damaged[offset] ^= mask;
        File.WriteAllBytes(segment, damaged);
        var recordStart = ends.Where(end => end <= offset).DefaultIfEmpty(0).Max();
        try
        {
            Stores.Open(new RealDisk(), directory).Dispose();
        }
        catch (StorageException e)
        {
            Assert.Contains(segment, e.Message, StringComparison.Ordinal);
            Assert.Contains($"corrupt at offset {recordStart}:", e.Message, StringComparison.Ordinal);
            Assert.Contains("--rebuild-from-peers", e.Message, StringComparison.Ordinal);
            return 1;
        }

        Assert.Fail($"flipping the byte at offset {offset} with 0x{mask:x2} was not detected");
        return 0;
    }
}
