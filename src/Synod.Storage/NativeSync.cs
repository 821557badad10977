using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Synod.Storage;

/// <summary>
/// The syncs .NET does not offer: fsync of a directory (so that a created, renamed or deleted entry survives a power
/// failure), fdatasync of a file (data and size, without the timestamps fsync would also write), and sync_file_range
/// (a range's writeback begun or waited for, for writing a long file behind). Linux only; elsewhere directory sync is
/// skipped, files use FileStream.Flush(flushToDisk: true) and are written in one piece.
/// </summary>
internal static partial class NativeSync
{
    private const int ReadOnly = 0;
    private const int CloseOnExec = 0x80000;
    private const int Interrupted = 4; // EINTR
    private const int InvalidArgument = 22; // EINVAL
    private const int IllegalSeek = 29; // ESPIPE
    private const int NotImplemented = 38; // ENOSYS
    private const uint SyncFileRangeWaitBefore = 1;
    private const uint SyncFileRangeWrite = 2;

    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>O_DIRECTORY differs between architectures (asm-generic against x86).</summary>
    private static int DirectoryFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;

    public static void SyncDirectory(string path)
    {
        var fd = NativeOpen(path, ReadOnly | DirectoryFlag | CloseOnExec);
        if (fd < 0)
        {
            throw Failure("open", path);
        }

        try
        {
            if (Retry(() => NativeFsync(fd)) != 0)
            {
                throw Failure("fsync", path);
            }
        }
        finally
        {
            _ = NativeClose(fd);
        }
    }

    public static void SyncData(SafeFileHandle handle, string path)
    {
        if (OnDescriptor(handle, static fd => NativeFdatasync(fd)) != 0)
        {
            throw Failure("fdatasync", path);
        }
    }

    /// <summary>
    /// Starts the writeback of a range of a file's dirty pages without waiting for it (sync_file_range with
    /// SYNC_FILE_RANGE_WRITE). It promises nothing about durability, which the caller's later <see cref="SyncData"/> does.
    /// </summary>
    /// <exception cref="IOException">The disk reported an error (EIO, ENOSPC): it must reach the caller, not wait for the sync.</exception>
    public static void StartWriteback(SafeFileHandle handle, long offset, long length, string path) =>
        SyncFileRange(handle, offset, length, SyncFileRangeWrite, path);

    /// <summary>Waits for the writeback of a range begun by <see cref="StartWriteback"/> (SYNC_FILE_RANGE_WAIT_BEFORE), to bound what is queued.</summary>
    /// <exception cref="IOException">
    /// A write of the file failed. This wait reports a writeback error of the whole file, and reports it once: the
    /// kernel then counts it as seen for this descriptor, and an fdatasync after it returns 0. So it is thrown, never
    /// dropped.
    /// </exception>
    public static void AwaitWriteback(SafeFileHandle handle, long offset, long length, string path) =>
        SyncFileRange(handle, offset, length, SyncFileRangeWaitBefore | SyncFileRangeWrite, path);

    private static void SyncFileRange(SafeFileHandle handle, long offset, long length, uint flags, string path)
    {
        if (OnDescriptor(handle, fd => NativeSyncFileRange(fd, offset, length, flags)) != 0 &&
            Marshal.GetLastPInvokeError() is not (NotImplemented or InvalidArgument or IllegalSeek))
        {
            // Not "unsupported here" (no such call, or a file it does not apply to): an error of the disk.
            throw Failure("sync_file_range", path);
        }
    }

    /// <summary>Runs a call on the handle's descriptor, the handle held open meanwhile, again while it is interrupted (EINTR); returns its result.</summary>
    private static int OnDescriptor(SafeFileHandle handle, Func<int, int> call)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            return Retry(() => call(fd));
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static int Retry(Func<int> call)
    {
        int result;
        do
        {
            result = call();
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == Interrupted);
        return result;
    }

    private static IOException Failure(string call, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call}({path}) failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}); what was written may not be durable.");
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int NativeFsync(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int NativeFdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int NativeSyncFileRange(int fd, long offset, long length, uint flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);
}
