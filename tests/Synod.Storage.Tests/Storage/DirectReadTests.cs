using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// Recovery reads files past the page cache (O_DIRECT), so that pages whose write-back failed cannot be replayed as
/// durable after a restart without a reboot. The bytes must be exactly the file's, whatever its size and alignment.
/// </summary>
public sealed class DirectReadTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(1024 * 1024 + 3)]
    [InlineData(8 * 1024 * 1024 + 31)]
    public void A_direct_read_returns_exactly_the_bytes_of_the_file(int length)
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "file");
        var bytes = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(path, bytes);

        var direct = NativeDirectRead.TryReadAll(path, 28);

        if (OperatingSystem.IsLinux() && DirectIoWorksIn(temp.Path))
        {
            Assert.NotNull(direct);
        }

        Assert.Equal(bytes, direct is { } split ? [.. split.Head, .. split.Body] : bytes);
        Assert.Equal(bytes, new RealDisk().ReadAll(path));

        // A snapshot file is read as its header and its data, the data filled in place.
        var (head, body) = new RealDisk().ReadAll(path, 28);
        Assert.Equal(bytes.Take(28), head);
        Assert.Equal(bytes.Skip(28), body);
    }

    /// <summary>Whether the test's file system is one that takes O_DIRECT (tmpfs does not); the CI machine's ext4 does.</summary>
    private static bool DirectIoWorksIn(string directory)
    {
        var best = (Mount: "", Type: "");
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 2 && (directory + "/").StartsWith(fields[1].TrimEnd('/') + "/", StringComparison.Ordinal) && fields[1].Length >= best.Mount.Length)
            {
                best = (fields[1], fields[2]);
            }
        }

        return best.Type is "ext4" or "xfs" or "btrfs";
    }
}
