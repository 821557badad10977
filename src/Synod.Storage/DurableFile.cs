namespace Synod.Storage;

/// <summary>Small files replaced whole and durably: the meta file, a cluster's token, its cluster.json.</summary>
public static class DurableFile
{
    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="bytes"/> so that a crash at any moment leaves the old file
    /// or the new one, never a mix, and the new one survives a power loss once this returns: a temporary file beside it,
    /// written and fsynced, renamed over it, then the folder fsynced.
    /// </summary>
    public static void Replace(IDisk disk, string path, ReadOnlySpan<byte> bytes)
    {
        var temporary = path + StorageLayout.TemporaryExtension;
        using (var file = disk.Open(temporary))
        {
            file.Truncate(0);
            file.Append(bytes);
            file.Sync();
        }

        disk.Rename(temporary, path);
        disk.SyncDirectory(Path.GetDirectoryName(path) is { Length: > 0 } folder ? folder : ".");
    }
}
