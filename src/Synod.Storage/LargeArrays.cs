using System.Runtime.InteropServices;

namespace Synod.Storage;

/// <summary>
/// Arrays of hundreds of megabytes that are filled once (a snapshot or a log segment read at a restart, a snapshot
/// assembled from a peer's chunks), backed by 2 MiB pages where the kernel offers them. Filling fresh memory takes one
/// page fault per page first touched; on this project's virtual machines that is about 4.5 µs per 4 KiB page, so a
/// 781 MiB snapshot spent about 2 s of a restart in faults (0.4 GB/s) where the device read it in 0.3 s
/// (docs/performance.md, "Large pages for the arrays a restart fills"). With madvise(MADV_HUGEPAGE) on the array's
/// memory before the first touch, Linux's transparent huge pages (mode "madvise", the usual default, or "always") fault
/// it in 2 MiB at a time. Only advice: where transparent huge pages are off, on another OS, or if the call fails, the
/// array is an ordinary one, the same bytes.
/// </summary>
/// <remarks>
/// The array is an ordinary large-object-heap array, not pinned: a pinned one (the pinned-object heap) took 1.0-2.7 s to
/// fill against 0.2-0.3 s, and cost a restore of 2.75M keys one more full collection (3.5-3.7 s against 3.6). Should the
/// collector compact the large-object heap and move it, the copy lands in ordinary pages: slower to fault, the same bytes.
/// </remarks>
public static partial class LargeArrays
{
    /// <summary>Arrays at least this long are advised; below it a huge page would be most of the array.</summary>
    public const int AdvisedBytesMin = 8 * 1024 * 1024;

    private const int HugePageBytes = 2 * 1024 * 1024;
    private const int AdviseHugePage = 14; // MADV_HUGEPAGE (the generic value, which x86-64 and arm64 use)
    private const string TransparentHugePagesSetting = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>Whether advice can help here: Linux with transparent huge pages not "never"; cleared if a call fails.</summary>
    private static bool _advising = OperatingSystem.IsLinux() && TransparentHugePagesOffered();

    /// <summary>
    /// An array of <paramref name="length"/> bytes whose contents are undefined until written (as
    /// <see cref="GC.AllocateUninitializedArray{T}"/>): the caller writes every byte before reading any.
    /// </summary>
    public static byte[] AllocateUninitialized(int length)
    {
        var array = GC.AllocateUninitializedArray<byte>(length);
        if (length >= AdvisedBytesMin && _advising)
        {
            Advise(array);
        }

        return array;
    }

    private static unsafe void Advise(byte[] array)
    {
        try
        {
            // Pinned only for the call: the advice is for the range, which the array fills until the collector moves it.
            fixed (byte* start = array)
            {
                var first = ((nint)start + HugePageBytes - 1) & ~(nint)(HugePageBytes - 1);
                var end = ((nint)start + array.Length) & ~(nint)(HugePageBytes - 1);
                if (end > first)
                {
                    // A refusal (EINVAL where transparent huge pages are not built in) leaves ordinary pages.
                    _ = NativeMadvise(first, (nuint)(end - first), AdviseHugePage);
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _advising = false;
        }
    }

    /// <summary>Whether transparent huge pages are on for advised memory (mode "always" or "madvise", not "never").</summary>
    internal static bool TransparentHugePagesOffered()
    {
        try
        {
            return File.Exists(TransparentHugePagesSetting) && !File.ReadAllText(TransparentHugePagesSetting).Contains("[never]", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int NativeMadvise(nint address, nuint length, int advice);
}
