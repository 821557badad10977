using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Synod.Storage;

/// <summary>
/// The syncs .NET does not offer: fsync of a directory (so that a created, renamed or deleted entry survives a power
/// failure) and fdatasync of a file (data and size, without the timestamps fsync would also write). Linux only;
/// elsewhere directory sync is skipped and files use FileStream.Flush(flushToDisk: true).
/// </summary>
internal static partial class NativeSync
{
    private const int ReadOnly = 0;
    private const int CloseOnExec = 0x80000;
    private const int Interrupted = 4; // EINTR

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
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            if (Retry(() => NativeFdatasync(fd)) != 0)
            {
                throw Failure("fdatasync", path);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private const uint SyncFileRangeWaitBefore = 1;
    private const uint SyncFileRangeWrite = 2;

    /// <summary>
    /// Starts the writeback of a range of a file's dirty pages without waiting for it (sync_file_range with
    /// SYNC_FILE_RANGE_WRITE). A hint only: it promises nothing about durability, which the caller's later
    /// <see cref="SyncData"/> does, and a failure here (a file system without it) is left for that sync to report.
    /// </summary>
    public static void StartWriteback(SafeFileHandle handle, long offset, long length) =>
        SyncFileRange(handle, offset, length, SyncFileRangeWrite);

    /// <summary>Waits for the writeback of a range begun by <see cref="StartWriteback"/> (SYNC_FILE_RANGE_WAIT_BEFORE), to bound what is queued; a hint as well.</summary>
    public static void AwaitWriteback(SafeFileHandle handle, long offset, long length) =>
        SyncFileRange(handle, offset, length, SyncFileRangeWaitBefore | SyncFileRangeWrite);

    private static void SyncFileRange(SafeFileHandle handle, long offset, long length, uint flags)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            _ = Retry(() => NativeSyncFileRange(fd, offset, length, flags));
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
