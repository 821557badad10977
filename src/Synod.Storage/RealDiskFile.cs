namespace Synod.Storage;

/// <summary>A real file: unbuffered positional writes at the end (one pwrite per append), fdatasync on Linux.</summary>
internal sealed class RealDiskFile : IDiskFile
{
    private readonly FileStream _stream;
    private long _length;

    public RealDiskFile(string path)
    {
        Path = path;

        // bufferSize 0: the storage batches its own writes, and a FileStream buffer would only hide them from Sync.
        _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        _length = RandomAccess.GetLength(_stream.SafeFileHandle);
    }

    public string Path { get; }

    public long Length => _length;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        RandomAccess.Write(_stream.SafeFileHandle, bytes, _length);
        _length += bytes.Length;
    }

    public int Read(long offset, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(_stream.SafeFileHandle, buffer[total..], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    public void Truncate(long length)
    {
        if (length < 0 || length > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{Path} is {_length} bytes long; it can only be cut to a length within 0..{_length}.");
        }

        _stream.SetLength(length);
        _length = length;
    }

    public void Sync()
    {
        if (NativeSync.Supported)
        {
            NativeSync.SyncData(_stream.SafeFileHandle, Path);
        }
        else
        {
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose() => _stream.Dispose();
}
