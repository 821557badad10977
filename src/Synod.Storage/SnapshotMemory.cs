using System.Buffers;
using System.Runtime.InteropServices;

namespace Synod.Storage;

/// <summary>
/// Memory for a snapshot a replica serialises, outside the collected heap. A state of hundreds of megabytes serialised
/// into an array was a large-object allocation, and each one started a full blocking collection of a heap of millions of
/// objects, a pause of 0.5-1.7 s at 790 MiB (docs/performance.md, "Snapshots outside the collected heap"). The driver
/// frees it once nothing holds it any more: the log has written it and the core holds the stored copy instead, or
/// another snapshot (<see cref="ReplicaStorage.HoldsSnapshotBytes"/>, the core's HoldsSnapshotBytes); the core sends
/// peers copies of it meanwhile, never views, since a message may wait in a queue for longer.
/// </summary>
public sealed unsafe class SnapshotMemory : MemoryManager<byte>
{
    private static long _bytesHeld;

    private readonly int _length;
    private nint _start;

    /// <summary>Allocates <paramref name="length"/> bytes, not zeroed.</summary>
    public SnapshotMemory(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
        _start = (nint)NativeMemory.Alloc((nuint)Math.Max(length, 1));
        Interlocked.Add(ref _bytesHeld, length);
    }

    /// <summary>Its size in bytes (freed or not).</summary>
    public int Length => _length;

    /// <summary>The bytes of every SnapshotMemory in this process not yet freed.</summary>
    public static long BytesHeld => Interlocked.Read(ref _bytesHeld);

    /// <summary>Freed: <see cref="Memory"/> may not be read any more.</summary>
    public bool IsFreed => Volatile.Read(ref _start) == 0;

    public override Span<byte> GetSpan()
    {
        var start = Volatile.Read(ref _start);
        ObjectDisposedException.ThrowIf(start == 0, this);
        return new Span<byte>((void*)start, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        var start = Volatile.Read(ref _start);
        ObjectDisposedException.ThrowIf(start == 0, this);
        return new MemoryHandle((byte*)start + elementIndex);
    }

    public override void Unpin()
    {
    }

    /// <summary>Gives the memory back to the system, once; the caller knows that nothing reads it any more.</summary>
    public void Free() => ((IDisposable)this).Dispose();

    protected override void Dispose(bool disposing)
    {
        var start = Interlocked.Exchange(ref _start, 0);
        if (start != 0)
        {
            NativeMemory.Free((void*)start);
            Interlocked.Add(ref _bytesHeld, -_length);
        }
    }

    // CA2015's hazard is a span outliving this object. The owner frees it explicitly once nothing holds it; this is for
    // one a host let go of unfreed (a host disposed while a snapshot was being serialised or written), when no thread
    // reads it any more: the only threads that take spans of it (the serialiser, the snapshot write) hold the object.
#pragma warning disable CA2015
    ~SnapshotMemory()
#pragma warning restore CA2015
    {
        Dispose(false);
    }
}
