using System.Runtime.InteropServices;

namespace Synod.Storage;

/// <summary>
/// Reads a whole file past the page cache (O_DIRECT, Linux), so that recovery sees what the device holds. After a failed
/// fdatasync the kernel may keep the pages that never reached the disk in its cache, marked clean; a replica restarted
/// without a reboot would read them back through the cache and replay as durable what was lost ("fsyncgate"). A direct
/// read cannot see them. Where the file system refuses O_DIRECT (tmpfs, some overlays), the file is read normally.
/// </summary>
internal static partial class NativeDirectRead
{
    /// <summary>Direct I/O wants buffers, offsets and lengths aligned to the logical block size; 4 KiB covers every common one.</summary>
    private const int AlignmentBytes = 4096;

    /// <summary>Bytes per direct read: each is a round trip to the device, so a gigabyte in 1 MiB pieces waited a thousand times.</summary>
    private const int ChunkBytes = 8 * 1024 * 1024;
    private const int ReadOnly = 0;
    private const int CloseOnExec = 0x80000;
    private const int Interrupted = 4; // EINTR

    /// <summary>O_DIRECT differs between architectures (asm-generic against x86).</summary>
    private static int DirectFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    /// <summary>
    /// The file's bytes as the device holds them, its first <paramref name="headBytes"/> (fewer if it is shorter) apart
    /// from the rest, or null where direct reads are not possible here.
    /// </summary>
    public static (byte[] Head, byte[] Body)? TryReadAll(string path, int headBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var length = new FileInfo(path).Length;
        var fd = NativeOpen(path, ReadOnly | DirectFlag | CloseOnExec);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            return ReadAligned(fd, path, length, headBytes);
        }
        finally
        {
            _ = NativeClose(fd);
        }
    }

    private static (byte[] Head, byte[] Body)? ReadAligned(int fd, string path, long length, int headBytes)
    {
        var head = new byte[(int)Math.Min(headBytes, length)];
        var rest = LargeArrays.AllocateUninitialized((int)(length - head.Length));
        var buffer = GC.AllocateArray<byte>(ChunkBytes + AlignmentBytes, pinned: true);
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0);
        var skew = (int)((AlignmentBytes - (address % AlignmentBytes)) % AlignmentBytes);
        for (long offset = 0; offset < length;)
        {
            nint read;
            do
            {
                read = NativePread(fd, address + skew, ChunkBytes, offset);
            }
            while (read < 0 && Marshal.GetLastPInvokeError() == Interrupted);

            if (read < 0)
            {
                // EINVAL: the file system takes O_DIRECT at open but not for reads; anything else is the device failing.
                var errno = Marshal.GetLastPInvokeError();
                return errno == 22 ? null : throw new IOException($"read({path}) at offset {offset} failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).");
            }

            if (read == 0)
            {
                throw new IOException($"{path} ended at {offset} bytes while reading it, though it was {length} bytes long a moment before.");
            }

            var take = (int)Math.Min(read, length - offset);
            var piece = buffer.AsSpan(skew, take);
            var toHead = (int)Math.Clamp(head.Length - offset, 0, take);
            if (toHead > 0)
            {
                piece[..toHead].CopyTo(head.AsSpan((int)offset));
            }

            piece[toHead..].CopyTo(rest.AsSpan((int)(offset + toHead - head.Length)));
            offset += take;
        }

        return (head, rest);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint NativePread(int fd, nint buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int NativeClose(int fd);
}
