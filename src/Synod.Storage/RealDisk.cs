namespace Synod.Storage;

/// <summary>
/// The machine's file system. Files sync with fdatasync, directories with open(O_DIRECTORY) + fsync (Linux; a no-op
/// elsewhere), and locks are a LOCK file held open with FileShare.None (flock on Unix), which the kernel releases when
/// the process dies.
/// </summary>
public sealed class RealDisk : IDisk
{
    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    public bool IsDirectory(string path) => Directory.Exists(path);

    public IReadOnlyList<string> List(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).Select(entry => Path.GetFileName(entry)).Order(StringComparer.Ordinal).ToList();

    public IDiskFile Open(string path, bool allocateAhead = false) => new RealDiskFile(path, allocateAhead);

    /// <summary>Past the page cache where the file system allows (NativeDirectRead): recovery must see what the device holds.</summary>
    public byte[] ReadAll(string path) => ReadAll(path, 0).Body;

    /// <inheritdoc cref="ReadAll(string)"/>
    public (byte[] Head, byte[] Body) ReadAll(string path, int headBytes)
    {
        if (NativeDirectRead.TryReadAll(path, headBytes) is { } direct)
        {
            return direct;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        var head = new byte[(int)Math.Min(headBytes, stream.Length)];
        var rest = LargeArrays.AllocateUninitialized((int)(stream.Length - head.Length));
        stream.ReadExactly(head);
        stream.ReadExactly(rest);
        return (head, rest);
    }

    /// <inheritdoc />
    /// <remarks>Linux only: elsewhere a mapped file could not be deleted (Windows), so a copy is read as the default does.</remarks>
    public ReadOnlyMemory<byte> Map(string path, long offset, int length) =>
        OperatingSystem.IsLinux() ? MappedFile.Map(path, offset, length) : ReadAll(path).AsMemory(checked((int)offset), length);

    public void Delete(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: false);
        }
        else
        {
            File.Delete(path);
        }
    }

    public void Rename(string source, string destination)
    {
        if (Directory.Exists(source))
        {
            Directory.Move(source, destination);
        }
        else
        {
            File.Move(source, destination, overwrite: true);
        }
    }

    public void SyncDirectory(string path)
    {
        if (NativeSync.Supported)
        {
            NativeSync.SyncDirectory(path);
        }
    }

    /// <summary>EWOULDBLOCK: on Linux .NET reports a lock held elsewhere as an IOException whose HResult is this errno.</summary>
    private const int WouldBlockErrno = 11;

    public IDisposable Lock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult == WouldBlockErrno)
        {
            throw new DiskLockedException($"{path} is locked by another process, or already open in this one ({e.Message}).", e);
        }
    }
}
