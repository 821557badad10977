using Synod.Core;
using Synod.Storage;

namespace Synod.Simulation;

/// <summary>
/// An in-memory disk for the simulator and the tests: deterministic, no clocks or threads, its faults drawn from the
/// random source passed in.
/// <list type="bullet">
/// <item>Each file holds synced bytes and bytes written since its last sync; <see cref="Crash"/> loses the latter,
/// or with tearing keeps a random prefix of whole sectors of them (a torn write).</item>
/// <item>Log files keep zeros written ahead of their end, as on the real disk, so recovery meets the shapes the real
/// disk leaves: a torn record followed by zeros to the end of the file.</item>
/// <item>Directory operations (create, rename, delete) and truncation are durable at once. A real file system needs the
/// directory fsync the storage issues after each; this model does not check that it was issued.</item>
/// <item><see cref="CorruptSector"/> damages synced bytes as a failing disk would.</item>
/// <item><see cref="SkipFsync"/> is a bug switch: syncs of log segments do nothing, so a crash loses records that were "synced".</item>
/// <item><see cref="CrashAfterOperations"/> makes a chosen mutating operation fail as the instant of a crash.</item>
/// </list>
/// Not thread-safe: the simulator calls it from one thread, and runs snapshot writes synchronously.
/// </summary>
public sealed class SimulatedDisk(IRandomSource random) : IDisk
{
    private readonly SortedDictionary<string, SimulatedFile> _files = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _directories = new(StringComparer.Ordinal);
    private readonly HashSet<string> _locks = new(StringComparer.Ordinal);

    /// <summary>Zeros written ahead at a time by a log file; smaller than the real disk's 1 MiB, to keep runs cheap.</summary>
    internal const int AllocateAheadChunkBytes = 16 * 1024;

    /// <summary>After an append to a log file at least this many zeros follow it, as on the real disk.</summary>
    internal const int AllocateAheadMarginBytes = 4096;

    /// <summary>The bug switch: when set, a sync of a log segment returns without making anything durable.</summary>
    public bool SkipFsync { get; set; }

    /// <summary>
    /// When set, the mutating operation after this many more (appends, syncs, truncations, creations, renames, deletions,
    /// directory syncs, locks) throws <see cref="SimulatedCrashException"/> instead of happening.
    /// </summary>
    public int? CrashAfterOperations { get; set; }

    /// <summary>Mutating operations performed so far (what <see cref="CrashAfterOperations"/> counts).</summary>
    public long Operations { get; private set; }

    public long FileSyncs { get; private set; }

    public long DirectorySyncs { get; private set; }

    public long BytesWritten { get; private set; }

    public long Crashes { get; private set; }

    /// <summary>Bytes written and not yet synced, over every file.</summary>
    public long UnsyncedBytes => _files.Values.Sum(file => file.UnsyncedBytes);

    /// <summary>Bumped by every crash; handles and locks from an older generation are dead.</summary>
    internal long Generation { get; private set; }

    public void CreateDirectory(string path)
    {
        path = Normalize(path);
        if (_files.ContainsKey(path))
        {
            throw new IOException($"Cannot create directory {path}: a file of that name exists.");
        }

        BeginOperation("create directory", path);
        for (var current = path; !string.IsNullOrEmpty(current); current = Path.GetDirectoryName(current))
        {
            _directories.Add(current);
        }
    }

    public bool Exists(string path) => _files.ContainsKey(Normalize(path)) || IsDirectory(path);

    public bool IsDirectory(string path) => IsDirectoryNormalized(Normalize(path));

    public IReadOnlyList<string> List(string directory)
    {
        directory = Normalize(directory);
        RequireDirectory(directory);
        return _files.Keys.Concat(_directories)
            .Where(entry => Path.GetDirectoryName(entry) == directory)
            .Select(entry => Path.GetFileName(entry))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public IDiskFile Open(string path, bool allocateAhead = false)
    {
        path = Normalize(path);
        if (!_files.TryGetValue(path, out var file))
        {
            RequireParent(path);
            BeginOperation("create", path);
            file = new SimulatedFile();
            _files[path] = file;
        }

        return new SimulatedDiskFile(this, file, path, Generation, allocateAhead);
    }

    public byte[] ReadAll(string path)
    {
        path = Normalize(path);
        return _files.TryGetValue(path, out var file) ? file.ReadAll() : throw new FileNotFoundException($"{path} does not exist.", path);
    }

    /// <summary>A view of the file's bytes, not a copy (<see cref="SimulatedFile.View"/>): damage done to the file later shows in it.</summary>
    public ReadOnlyMemory<byte> Map(string path, long offset, int length)
    {
        path = Normalize(path);
        return _files.TryGetValue(path, out var file) ? file.View(offset, length) : throw new FileNotFoundException($"{path} does not exist.", path);
    }

    /// <summary>Damages one byte of a file, durable or not, as bit rot the disk does not report would (XOR with <paramref name="mask"/>).</summary>
    public void Flip(string path, long offset, byte mask)
    {
        path = Normalize(path);
        if (!_files.TryGetValue(path, out var file) || offset < 0 || offset >= file.Length || mask == 0)
        {
            throw new ArgumentException($"{path}: no byte at offset {offset} to damage with mask 0x{mask:x2}.", nameof(path));
        }

        file.Flip(offset, mask);
    }

    public void Delete(string path)
    {
        path = Normalize(path);
        if (_directories.Contains(path) && List(path).Count > 0)
        {
            throw new IOException($"Cannot delete directory {path}: it is not empty.");
        }

        BeginOperation("delete", path);
        _files.Remove(path);
        _directories.Remove(path);
    }

    public void Rename(string source, string destination)
    {
        source = Normalize(source);
        destination = Normalize(destination);
        RequireParent(destination);
        if (_files.TryGetValue(source, out var file))
        {
            if (_directories.Contains(destination))
            {
                throw new IOException($"Cannot rename {source} to {destination}: a directory of that name exists.");
            }

            BeginOperation("rename", source);
            _files.Remove(source);
            _files[destination] = file;
            return;
        }

        RequireDirectory(source);
        if (Exists(destination))
        {
            throw new IOException($"Cannot rename directory {source} to {destination}: the destination exists.");
        }

        BeginOperation("rename", source);
        MoveDirectory(source, destination);
    }

    public void SyncDirectory(string path)
    {
        path = Normalize(path);
        RequireDirectory(path);
        BeginOperation("sync directory", path);
        DirectorySyncs++;
    }

    public IDisposable Lock(string path)
    {
        path = Normalize(path);
        if (_locks.Contains(path))
        {
            throw new DiskLockedException($"{path} is locked by another process, or already open in this one.");
        }

        RequireParent(path);
        BeginOperation("lock", path);
        _files.TryAdd(path, new SimulatedFile());
        _locks.Add(path);
        return new SimulatedDiskLock(this, path, Generation);
    }

    /// <summary>
    /// The process (or the machine) dies: every unsynced byte is lost, or with <paramref name="tearLastWrite"/> a random
    /// prefix of whole sectors of each file's unsynced bytes survives. Locks are released and open handles die.
    /// </summary>
    public void Crash(bool tearLastWrite)
    {
        foreach (var file in _files.Values)
        {
            var kept = tearLastWrite && file.UnsyncedSectors > 0 ? random.Next((int)Math.Min(file.UnsyncedSectors + 1, int.MaxValue)) : 0;
            file.Crash(kept);
        }

        _locks.Clear();
        CrashAfterOperations = null;
        Generation++;
        Crashes++;
    }

    /// <summary>
    /// Flips bits in one random 512-byte sector of the synced contents of a random file (under <paramref name="under"/>,
    /// if given). Returns what it did, for the log, or null when no file has synced bytes.
    /// </summary>
    public string? CorruptSector(string? under = null)
    {
        var prefix = under is null ? null : Normalize(under) + Path.DirectorySeparatorChar;
        var candidates = _files.Where(pair => pair.Value.SyncedLength > 0 && (prefix is null || pair.Key.StartsWith(prefix, StringComparison.Ordinal))).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var (path, file) = candidates[random.Next(candidates.Count)];
        var sectors = (int)((file.SyncedLength + RecordFormat.SectorBytes - 1) / RecordFormat.SectorBytes);
        var sector = random.Next(sectors);
        var start = (long)sector * RecordFormat.SectorBytes;
        var end = Math.Min(file.SyncedLength, start + RecordFormat.SectorBytes);
        var offset = start + random.Next((int)(end - start));
        var mask = (byte)(1 + random.Next(255));
        file.Flip(offset, mask);
        return $"{path}: flipped bits 0x{mask:x2} of the byte at offset {offset} (sector {sector}, bytes {start}..{end - 1})";
    }

    /// <summary>Counts a mutating operation, or throws the crash <see cref="CrashAfterOperations"/> asked for.</summary>
    internal void BeginOperation(string what, string path)
    {
        if (CrashAfterOperations is int left)
        {
            if (left <= 0)
            {
                throw new SimulatedCrashException($"Simulated crash at operation {Operations + 1} ({what} {path}).");
            }

            CrashAfterOperations = left - 1;
        }

        Operations++;
    }

    internal void CountWrite(int bytes) => BytesWritten += bytes;

    internal void CountFileSync() => FileSyncs++;

    internal void Unlock(string path) => _locks.Remove(path);

    private static string Normalize(string path) => Path.TrimEndingDirectorySeparator(path);

    private bool IsDirectoryNormalized(string path) => _directories.Contains(path) || Path.GetDirectoryName(path) is null;

    private void RequireDirectory(string path)
    {
        if (!IsDirectoryNormalized(path))
        {
            throw new DirectoryNotFoundException($"The directory {path} does not exist.");
        }
    }

    private void RequireParent(string path)
    {
        if (Path.GetDirectoryName(path) is { Length: > 0 } parent)
        {
            RequireDirectory(parent);
        }
    }

    private void MoveDirectory(string source, string destination)
    {
        var prefix = source + Path.DirectorySeparatorChar;
        foreach (var path in _files.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            _files[destination + path[source.Length..]] = _files[path];
            _files.Remove(path);
        }

        foreach (var path in _directories.Where(p => p == source || p.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            _directories.Remove(path);
            _directories.Add(destination + path[source.Length..]);
        }
    }
}
