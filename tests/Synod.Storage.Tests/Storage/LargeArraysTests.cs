using System.Globalization;
using System.Runtime.InteropServices;
using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// A restart reads its snapshot file into one array; on this project's virtual machines faulting that array in 4 KiB
/// pages cost 2-3 s at 781 MiB, against about 0.4 s in 2 MiB pages (docs/performance.md, "Large pages for the arrays a
/// restart fills"). What a user would check: the bytes are the file's, and the memory they sit in is advised for huge
/// pages wherever the kernel offers transparent huge pages.
/// </summary>
public sealed class LargeArraysTests
{
    [Fact]
    public void A_large_file_read_at_recovery_lands_in_huge_pages_where_the_kernel_offers_them()
    {
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "snapshot");
        var bytes = new byte[LargeArrays.AdvisedBytesMin * 3 + 123];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        var (head, body) = new RealDisk().ReadAll(path, 28);

        Assert.Equal(bytes.Take(28), head);
        Assert.True(bytes.AsSpan(28).SequenceEqual(body));
        if (!OperatingSystem.IsLinux() || !LargeArrays.TransparentHugePagesOffered())
        {
            return;
        }

        // Pinned for the check only (the collector does not move it in between in practice: nothing else allocates here).
        // What Synod does is the advice (the mapping's "hg" flag, set by MADV_HUGEPAGE alone, in mode "madvise" or
        // "always"); whether the kernel then finds free 2 MiB pages depends on the machine's memory at that moment (a CI
        // run after hours of benchmarks got none), so the huge pages themselves are not asserted.
        var hugePage = 2L * 1024 * 1024;
        var handle = GCHandle.Alloc(body, GCHandleType.Pinned);
        try
        {
            var address = (long)handle.AddrOfPinnedObject();
            var firstHugePage = (address + hugePage - 1) & ~(hugePage - 1);
            var area = MappingHolding(firstHugePage);
            Assert.True(area.Flags.Split(' ').Contains("hg"),
                $"the {body.Length}-byte array at 0x{address:x} sits in a mapping not advised for huge pages (MADV_HUGEPAGE): {area.Flags}");
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>The mapping of this process that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static (long AnonHugePagesKib, string Flags) MappingHolding(long address)
    {
        var inside = false;
        var hugeKib = -1L;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
            {
                if (inside)
                {
                    break;
                }

                inside = start <= address && address < end;
                continue;
            }

            if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
            {
                hugeKib = long.Parse(line["AnonHugePages:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return (hugeKib, line);
            }
        }

        throw new InvalidOperationException($"No mapping of this process holds 0x{address:x}.");
    }
}
