namespace Synod.Storage;

/// <summary>
/// Every file and directory operation the storage performs, so that one real and one simulated disk can stand behind
/// it (hashicorp/raft's stores, Garnet's IDevice). Paths are full paths built with <see cref="Path.Combine(string, string)"/>.
/// Failures of the device itself surface as <see cref="IOException"/>.
/// </summary>
public interface IDisk
{
    /// <summary>Creates the directory and any missing parents; nothing happens if it exists.</summary>
    void CreateDirectory(string path);

    /// <summary>Whether a file or a directory exists at the path.</summary>
    bool Exists(string path);

    /// <summary>Whether a directory exists at the path.</summary>
    bool IsDirectory(string path);

    /// <summary>The names (not paths) of the files and directories in a directory, in ordinal order.</summary>
    IReadOnlyList<string> List(string directory);

    /// <summary>Opens a file for appending, reading, truncating and syncing; creates it (empty) if it is missing.</summary>
    /// <param name="path">The file.</param>
    /// <param name="allocateAhead">
    /// For a log: keep zeros written ahead of the end, so that a sync after an append need not also record a new file
    /// size (see <see cref="IDiskFile.ReleaseAllocatedAhead"/>). A disk without such a cost may ignore it.
    /// </param>
    IDiskFile Open(string path, bool allocateAhead = false);

    /// <summary>The whole content of a file.</summary>
    byte[] ReadAll(string path);

    /// <summary>
    /// The whole content of a file as two arrays: its first <paramref name="headBytes"/> bytes (fewer if the file is
    /// shorter) and the rest. A disk that reads large files should fill the rest in place: for a snapshot of a gigabyte,
    /// a second state-sized copy costs seconds of a restart.
    /// </summary>
    (byte[] Head, byte[] Body) ReadAll(string path, int headBytes)
    {
        var all = ReadAll(path);
        var head = Math.Min(headBytes, all.Length);
        return (all[..head], all[head..]);
    }

    /// <summary>
    /// Bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of a file that is never
    /// written again (a durable snapshot), for as long as the result is referenced. A disk that can map files should, so
    /// that the bytes are the page cache's and not the process's (RealDisk); this default reads a copy.
    /// </summary>
    ReadOnlyMemory<byte> Map(string path, long offset, int length) => ReadAll(path).AsMemory(checked((int)offset), length);

    /// <summary>Deletes a file, or an empty directory.</summary>
    void Delete(string path);

    /// <summary>
    /// Renames a file, atomically replacing any file at the destination (rename(2)), or a directory to a destination
    /// that does not exist. Durable only after <see cref="SyncDirectory"/> of the parent.
    /// </summary>
    void Rename(string source, string destination);

    /// <summary>Makes the directory's entries (files created, renamed or deleted in it) durable.</summary>
    void SyncDirectory(string path);

    /// <summary>
    /// Takes an exclusive lock on the path (creating the file) until the result is disposed. A second lock on the same
    /// path, from this process or another, fails with a <see cref="DiskLockedException"/> that names the path; a lock
    /// file that cannot be created or opened (a read-only file system, no permission) fails with another exception.
    /// </summary>
    IDisposable Lock(string path);
}
