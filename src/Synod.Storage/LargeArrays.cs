using System.Runtime.InteropServices;

namespace Synod.Storage;

/// <summary>
/// Arrays of hundreds of megabytes that are filled once (a snapshot or a log segment read at a restart, a snapshot
/// assembled from a peer's chunks), backed by 2 MiB pages where the kernel offers them. Filling fresh memory takes one
/// page fault per page first touched; on this project's virtual machines that is about 4.5 µs per 4 KiB page, so a
/// 781 MiB snapshot spent about 2 s of a restart in faults (0.4 GB/s) where the device read it in 0.3 s
/// (docs/performance.md, "Large pages for the arrays a restart fills"). With madvise(MADV_HUGEPAGE) on the array's
/// memory before the first touch, Linux's transparent huge pages (mode "madvise", the usual default, or "always") fault
/// it in 2 MiB at a time. The array is allocated pinned, so that the collector never moves it out of the advised range
/// (an array that size would otherwise sit in the large-object heap, which this server compacts). Only advice: where
/// it is refused (another OS, transparent huge pages off) the array is an ordinary one, the same bytes.
/// </summary>
public static partial class LargeArrays
{
    /// <summary>Arrays at least this long are advised; below it a huge page would be most of the array.</summary>
    public const int AdvisedBytesMin = 8 * 1024 * 1024;

    private const int HugePageBytes = 2 * 1024 * 1024;
    private const int AdviseHugePage = 14; // MADV_HUGEPAGE

    /// <summary>
    /// An array of <paramref name="length"/> bytes whose contents are undefined until written (as
    /// <see cref="GC.AllocateUninitializedArray{T}"/>): the caller writes every byte before reading any.
    /// </summary>
    public static byte[] AllocateUninitialized(int length)
    {
        if (length < AdvisedBytesMin || !OperatingSystem.IsLinux())
        {
            return GC.AllocateUninitializedArray<byte>(length);
        }

        var array = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        var start = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        var first = (start + HugePageBytes - 1) & ~(nint)(HugePageBytes - 1);
        var end = (start + length) & ~(nint)(HugePageBytes - 1);
        if (end > first)
        {
            // Advice only: a refusal (EINVAL where transparent huge pages are not built in) leaves ordinary pages.
            _ = NativeMadvise(first, (nuint)(end - first), AdviseHugePage);
        }

        return array;
    }

    /// <summary>As <see cref="AllocateUninitialized"/>, zeroed (as <c>new byte[length]</c>).</summary>
    public static byte[] Allocate(int length)
    {
        var array = AllocateUninitialized(length);
        Array.Clear(array);
        return array;
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int NativeMadvise(nint address, nuint length, int advice);
}
