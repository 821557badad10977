using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Synod.Server;

/// <summary>Bytes out of parsed protobuf messages without a second copy.</summary>
internal static class ProtoBytes
{
    /// <summary>
    /// The parser gives each ByteString its own array (it copies out of the frame buffer), and nothing keeps the
    /// parsed message afterwards: take that array rather than copy it again. Half of an Accept's decoding cost was
    /// this copy.
    /// </summary>
    public static byte[] OwnedArray(ByteString bytes) => WholeArray(bytes.Memory) ?? bytes.ToByteArray();

    /// <summary>The array <paramref name="memory"/> is, when it is all of one array; otherwise null.</summary>
    private static byte[]? WholeArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : null;

    /// <summary>
    /// The bytes a kept value's array may hold beyond the value itself: a put's value is a slice of its command, which
    /// holds the key (up to <see cref="Kv.KvLimits.KeyBytesMax"/>) and a few fields more.
    /// </summary>
    private const int KeptSliceSlackBytes = 2 * Kv.KvLimits.KeyBytesMax;

    /// <summary>Whether <paramref name="memory"/> is an array's whole or all but <see cref="KeptSliceSlackBytes"/> of it.</summary>
    private static bool WithinItsArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Array!.Length - segment.Count <= KeptSliceSlackBytes;

    /// <summary>
    /// A key and its entry as the wire carries them, wrapping the state machine's arrays without copying them. A
    /// message to be <paramref name="kept"/> (the watch cache) copies a value that is a slice of a much larger array: a
    /// value restored from a snapshot is a slice of the whole snapshot, which the message would otherwise keep alive.
    /// </summary>
    public static Protocol.KeyValue KeyValueOf(byte[] key, Kv.KvEntry entry, bool kept = false) => new()
    {
        Key = UnsafeByteOperations.UnsafeWrap(key),
        Value = kept && !WithinItsArray(entry.Value)
            ? ByteString.CopyFrom(entry.Value.Span)
            : UnsafeByteOperations.UnsafeWrap(entry.Value),
        CreateRevision = entry.CreateRevision,
        ModRevision = entry.ModRevision,
        Version = entry.Version,
    };
}
