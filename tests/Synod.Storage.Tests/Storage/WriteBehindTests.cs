using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// An append longer than a write-behind piece to a file without zeros allocated ahead (a snapshot's file) is written in
/// pieces that end at multiples of the piece size, each one's writeback begun at once: what lands in the file must be
/// exactly the bytes, in order, wherever a piece ends, and an append after it must follow it. A file with zeros
/// allocated ahead (the WAL's) takes the same append in one write, with the same result.
/// </summary>
public sealed class WriteBehindTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_long_append_reads_back_byte_for_byte_and_the_next_append_follows_it(bool allocateAhead)
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "file");
        var head = Pattern(100, seed: 1);
        var large = Pattern((2 * RealDiskFile.WriteBehindPieceBytes) + 12_345, seed: 2);
        var tail = Pattern(777, seed: 3);
        using (var file = new RealDisk().Open(path, allocateAhead))
        {
            file.Append(head);
            file.Append(large);
            file.Append(tail);
            Assert.Equal(head.Length + large.Length + tail.Length, file.Length);
            file.Sync();
            file.ReleaseAllocatedAhead();
            file.Sync();
        }

        var read = File.ReadAllBytes(path);
        Assert.Equal(head.Length + large.Length + tail.Length, read.Length);
        Assert.True(read.AsSpan(0, head.Length).SequenceEqual(head), "the bytes before the long append changed");
        var mismatch = read.AsSpan(head.Length, large.Length).CommonPrefixLength(large);
        Assert.True(mismatch == large.Length, $"the long append differs from byte {mismatch} on (a piece is {RealDiskFile.WriteBehindPieceBytes} bytes)");
        Assert.True(read.AsSpan(head.Length + large.Length).SequenceEqual(tail), "the append after the long one is not right after it");
    }

    /// <summary>Bytes that differ from piece to piece, so that a piece written at another's offset shows.</summary>
    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
