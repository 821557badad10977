using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Synod.Storage;

/// <summary>
/// A file that is never written again (a durable snapshot), mapped read-only as memory: its pages are the page cache's,
/// which the kernel may drop and read again, not the process's own. Peers are sent views of it, as they were sent
/// views of the array it replaces.
/// <para>
/// Unmapping waits: views of it live in messages on their way to peers, and a span taken from one does not keep this
/// object alive, so when it is collected (or disposed) its mapping is retired and unmapped only <see cref="RetireMs"/>
/// later, by a timer. A deleted snapshot's disk space is freed then: after the full collection that finds the object
/// unreferenced, and that minute. Reading a page the device cannot read fails the process (SIGBUS) where a read would
/// fail the call: the replica stops, and its restart finds the damaged file (docs/storage.md). <see cref="GetSpan"/>
/// is writable by its signature only: writing to it faults, and nothing here does (the memory is handed out read-only).
/// </para>
/// </summary>
internal sealed unsafe class MappedFile : MemoryManager<byte>
{
    /// <summary>How long a mapping outlives the last reference to it.</summary>
    internal const long RetireMs = 60_000;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<long, (MemoryMappedFile File, MemoryMappedViewAccessor View)> Live = [];
    private static readonly List<(long Id, long DueMs)> Retired = [];
    private static long _nextId;

    private readonly long _id;
    private readonly byte* _start;
    private readonly int _length;

    private MappedFile(long id, byte* start, int length)
    {
        _id = id;
        _start = start;
        _length = length;
    }

    // CA2015's hazard (a span outliving this object) is why the finalizer only retires the mapping: it is unmapped
    // RetireMs later, when no span taken before the collection can still be in use.
#pragma warning disable CA2015
    ~MappedFile()
#pragma warning restore CA2015
    {
        Retire();
    }

    private int _retired;

    /// <summary>Unmaps this mapping <see cref="RetireMs"/> from now (once, whether collected or disposed).</summary>
    private void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 1)
        {
            return;
        }

        lock (Gate)
        {
            Retired.Add((_id, Environment.TickCount64 + RetireMs));
        }

        // A one-shot timer, so that an idle replica (no later mapping) lets go of a deleted file too.
        Timer? timer = null;
        timer = new Timer(_ =>
        {
            lock (Gate)
            {
                UnmapDue();
            }

            timer?.Dispose();
        }, null, RetireMs + 1, Timeout.Infinite);
    }

    /// <summary>Mappings open now (retired ones not yet unmapped included): for tests.</summary>
    internal static int Count
    {
        get
        {
            lock (Gate)
            {
                return Live.Count;
            }
        }
    }

    /// <summary>Bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of the file at <paramref name="path"/>.</summary>
    public static ReadOnlyMemory<byte> Map(string path, long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            if (offset + length > view.Capacity)
            {
                throw new IOException($"{path}: bytes {offset}..{offset + length} were to be mapped, and the file holds {view.Capacity}.");
            }

            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            lock (Gate)
            {
                UnmapDue();
                var id = ++_nextId;
                Live[id] = (file, view);
                return new MappedFile(id, start + view.PointerOffset + offset, length).Memory;
            }
        }
        catch
        {
            // Only the view's creation, the size check and AcquirePointer itself can throw: no pointer is held then.
            view?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps every retired mapping whose time has come (under <see cref="Gate"/>).</summary>
    private static void UnmapDue()
    {
        var now = Environment.TickCount64;
        for (var i = Retired.Count - 1; i >= 0; i--)
        {
            if (Retired[i].DueMs > now)
            {
                continue;
            }

            var (file, view) = Live[Retired[i].Id];
            Live.Remove(Retired[i].Id);
            Retired.RemoveAt(i);
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        }
    }

    public override Span<byte> GetSpan() => new(_start, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        // The mapping does not move, and stays until this object is collected and its time has passed.
        return new MemoryHandle(_start + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        // Not at once: views of this memory may still be on their way. (MemoryManager's Dispose also suppresses the
        // finalizer, so the mapping is retired here.)
        Retire();
    }
}
