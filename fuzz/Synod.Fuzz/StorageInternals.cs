using System.Reflection;
using Synod.Core.Persistence;

namespace Synod.Fuzz;

/// <summary>
/// The WAL's record decoder, its encoder and its refusal are internal to Synod.Storage, which grants its internals only
/// to the test and bench assemblies. Rather than change that project, the fuzzer binds to them once by reflection; a
/// delegate over the method keeps the calls as fast as direct ones and lets the span parameters through.
/// </summary>
internal static class StorageInternals
{
    private delegate object SpanDecoder(ReadOnlySpan<byte> payload);

    private delegate void SpanEncoder(PersistOp op, Span<byte> payload);

    private static readonly Assembly Storage = typeof(Synod.Storage.StorageException).Assembly;

    private static readonly SpanDecoder DecodeRecord =
        Method("Synod.Storage.RecordDecoder", "Decode").CreateDelegate<SpanDecoder>();

    private static readonly SpanEncoder EncodeRecord =
        Method("Synod.Storage.RecordEncoder", "EncodePayload").CreateDelegate<SpanEncoder>();

    private static readonly Func<PersistOp, long> RecordBytes =
        Method("Synod.Storage.RecordEncoder", "PayloadBytes").CreateDelegate<Func<PersistOp, long>>();

    /// <summary>The one exception <c>RecordDecoder.Decode</c> may throw.</summary>
    public static readonly Type MalformedRecordException = Type("Synod.Storage.MalformedRecordException");

    public static void Decode(byte[] payload) => DecodeRecord(payload);

    public static byte[] Encode(PersistOp op)
    {
        var payload = new byte[RecordBytes(op)];
        EncodeRecord(op, payload);
        return payload;
    }

    private static Type Type(string name) =>
        Storage.GetType(name, throwOnError: true)!;

    private static MethodInfo Method(string type, string name) =>
        Type(type).GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new MissingMethodException(type, name);
}
