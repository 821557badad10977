namespace Synod.Storage;

/// <summary>An open file of an <see cref="IDisk"/>: appended to at its end, read anywhere, made durable by <see cref="Sync"/>.</summary>
public interface IDiskFile : IDisposable
{
    string Path { get; }

    long Length { get; }

    /// <summary>Writes the bytes at the end of the file. They may be lost by a crash until <see cref="Sync"/> returns.</summary>
    void Append(ReadOnlySpan<byte> bytes);

    /// <summary>Reads up to buffer.Length bytes at the offset; returns how many were read (fewer only at the end).</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Cuts the file to the length, which must not exceed <see cref="Length"/>.</summary>
    void Truncate(long length);

    /// <summary>Returns once every byte written so far is durable (fdatasync/fsync).</summary>
    void Sync();

    /// <summary>
    /// Cuts the zeros allocated ahead of <see cref="Length"/> (a file opened with allocateAhead), so that the file ends
    /// at its last byte; durable after the next <see cref="Sync"/>. Returns whether there were any.
    /// </summary>
    bool ReleaseAllocatedAhead();
}
