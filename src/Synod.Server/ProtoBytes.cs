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
    /// A key and its entry as the wire carries them, wrapping the state machine's arrays without copying them. A
    /// message to be <paramref name="kept"/> (the watch cache) copies a value that is a slice of a larger array: a
    /// value restored from a snapshot is a slice of the whole snapshot, which the message would otherwise keep alive.
    /// </summary>
    public static Protocol.KeyValue KeyValueOf(byte[] key, Kv.KvEntry entry, bool kept = false) => new()
    {
        Key = UnsafeByteOperations.UnsafeWrap(key),
        Value = kept && WholeArray(entry.Value) is null
            ? ByteString.CopyFrom(entry.Value.Span)
            : UnsafeByteOperations.UnsafeWrap(entry.Value),
        CreateRevision = entry.CreateRevision,
        ModRevision = entry.ModRevision,
        Version = entry.Version,
    };
}
