using Synod.Core;
using Synod.Core.Persistence;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// Damage to a real WAL file exactly as the real disk leaves it (zeros written ahead of the last record included),
/// seeded: a truncation anywhere, or zeros from any sector boundary to the end (the shapes a crash leaves), recover
/// exactly the whole records before the cut; a flipped byte anywhere is refused with a message naming the file, the
/// record's offset and --rebuild-from-peers — or, if it zeroed only the last record's end mark, that record is kept
/// whole. Never another exception type, never a different value, never damage cut off as a torn write.
/// </summary>
public sealed class CorruptionFuzzTests
{
    private const int Cases = 600;
    private const ulong Seed = 20240611;

    [Fact]
    public void Truncating_zeroing_a_tail_or_flipping_bytes_of_a_real_segment_recovers_whole_records_or_refuses()
    {
        using var temp = new TempDirectory();
        var (ops, ends) = WriteLog(temp.Path);
        var segment = Path.Combine(temp.Path, "wal", "00000000000000000001.wal");

        var written = File.ReadAllBytes(segment);
        Assert.True(written.Length >= ends[^1] + 4096, "fewer than 4 KiB of zeros follow the last record");
        Assert.True(written.AsSpan((int)ends[^1]).IndexOfAnyExcept((byte)0) < 0, "something other than zeros follows the last record");
        var random = new SeededRandom(Seed);
        var refusals = 0;
        var flips = 0;
        for (var i = 0; i < Cases; i++)
        {
            switch (i % 3)
            {
                case 0:
                    CheckTruncation(temp.Path, segment, written[..(int)ends[^1]], ops, ends, random.Next((int)ends[^1] + 1));
                    break;
                case 1:
                    CheckUnwrittenTail(temp.Path, segment, written, ops, ends, random.Next((int)(ends[^1] / RecordFormat.SectorBytes) + 1) * RecordFormat.SectorBytes);
                    break;
                default:
                    flips++;
                    refusals += CheckFlip(temp.Path, segment, written, ops, ends, random.Next((int)ends[^1] + 1024), (byte)(1 + random.Next(255)));
                    break;
            }
        }

        Assert.True(refusals >= flips - 2, $"{refusals} of {flips} flipped bytes were refused");
    }

    /// <summary>
    /// The shape of issue 13's finding 4: the last record of a log is one whose encoding used to end in a zero byte (a
    /// promise, an accepted delete, a commit index...), zeros written ahead follow it, and one of its bytes is damaged.
    /// The replica must refuse, or keep the record whole; it must never cut the record off as torn and forget it.
    /// </summary>
    [Fact]
    public void A_damaged_byte_in_a_synced_last_record_is_never_taken_for_a_torn_write()
    {
        PersistOp[] lasts =
        [
            new PromiseOp(new Ballot(9, 2)), new AcceptOp(7, new Ballot(9, 2), []), new AcceptOp(7, new Ballot(9, 2), [[1, 0]]),
            new CommitOp(256), new VoterOp(new Ballot(4, 1)), new IncarnationOp(2, 1),
        ];
        var random = new SeededRandom(Seed);
        foreach (var last in lasts)
        {
            using var temp = new TempDirectory();
            List<PersistOp> ops = [new PromiseOp(new Ballot(3, 2)), new AcceptOp(1, new Ballot(3, 2), [[5, 5]]), last];
            int start, end;
            using (var storage = Stores.Open(new RealDisk(), temp.Path, StorageOpenMode.NewCluster))
            {
                storage.Append(ops[..^1]);
                start = (int)storage.WalBytes;
                storage.Append([last]);
                storage.Sync();
                end = (int)storage.WalBytes;
            }

            var segment = Path.Combine(temp.Path, "wal", "00000000000000000001.wal");
            var written = File.ReadAllBytes(segment);
            for (var offset = start; offset < end; offset++)
            {
                // A random flip, and the byte set to zero (unless it is zero already).
                foreach (var mask in new[] { (byte)(1 + random.Next(255)), written[offset] }.Where(mask => mask != 0))
                {
                    var damaged = (byte[])written.Clone();
                    damaged[offset] ^= mask;
                    File.WriteAllBytes(segment, damaged);
                    var log = new List<string>();
                    try
                    {
                        using var reopened = Stores.Open(new RealDisk(), temp.Path, log: log);
                        Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
                        Assert.Equal(end - 1, offset);
                        Assert.Contains(log, line => line.Contains("lacked only its end mark", StringComparison.Ordinal));
                    }
                    catch (StorageException e)
                    {
                        Assert.Contains($"corrupt at offset {start}:", e.Message, StringComparison.Ordinal);
                    }

                    Assert.DoesNotContain(log, line => line.Contains("torn", StringComparison.Ordinal));
                }
            }
        }
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

    /// <summary>Sectors from <paramref name="boundary"/> on never written: they read back as zeros to the end of the file.</summary>
    private static void CheckUnwrittenTail(string directory, string segment, byte[] written, List<PersistOp> ops, List<long> ends, long boundary)
    {
        var torn = (byte[])written.Clone();
        Array.Clear(torn, (int)boundary, torn.Length - (int)boundary);
        File.WriteAllBytes(segment, torn);
        var log = new List<string>();
        using var storage = Stores.Open(new RealDisk(), directory, log: log);

        // Records that end by the boundary are whole; one that lost only its end mark is kept whole too.
        var whole = ends.Count(end => end <= boundary || end - 1 == boundary);
        Assert.Equal(StateText.Describe(StateText.Fold(ops.Take(whole))), StateText.Describe(storage.State));
        var keptEnd = whole == 0 ? 0 : ends[whole - 1];
        Assert.Equal(keptEnd, new FileInfo(segment).Length);
        Assert.DoesNotContain(log, line => line.Contains("corrupt", StringComparison.Ordinal));
    }

    private static int CheckFlip(string directory, string segment, byte[] written, List<PersistOp> ops, List<long> ends, int offset, byte mask)
    {
        var damaged = (byte[])written.Clone();
        damaged[offset] ^= mask;
        File.WriteAllBytes(segment, damaged);
        var recordStart = ends.Where(end => end <= offset).DefaultIfEmpty(0).Max();
        try
        {
            using var reopened = Stores.Open(new RealDisk(), directory);

            // Only the last record's end mark, zeroed: the record is kept whole, nothing is lost.
            Assert.True(offset == ends[^1] - 1 && damaged[offset] == 0, $"flipping the byte at offset {offset} with 0x{mask:x2} was not detected");
            Assert.Equal(StateText.Describe(StateText.Fold(ops)), StateText.Describe(reopened.State));
            return 0;
        }
        catch (StorageException e)
        {
            Assert.Contains(segment, e.Message, StringComparison.Ordinal);
            Assert.Contains($"corrupt at offset {recordStart}:", e.Message, StringComparison.Ordinal);
            Assert.Contains("--rebuild-from-peers", e.Message, StringComparison.Ordinal);
            return 1;
        }
    }
}
