using System.Text;
using Synod.Protocol;

namespace Synod.Client;

/// <summary>
/// A condition on the key a put or delete names, checked by the replicas when the write is applied, in log order
/// (compare-and-swap). When it does not hold nothing is written and the result says so
/// (<see cref="PutResult.CompareFailed"/>), with the key's current version and mod revision. An absent key has version
/// and revisions 0 and no value: every comparison of its value is false.
/// </summary>
/// <param name="Target">What is compared: the key's version, create revision, mod revision or value.</param>
/// <param name="Op">How: equal, not equal, less or greater.</param>
/// <param name="Number">The operand for a version or revision (0 to 2^53).</param>
/// <param name="Value">The operand for a value.</param>
public sealed record SynodCompare(CompareTarget Target, CompareOp Op, long Number = 0, ReadOnlyMemory<byte> Value = default)
{
    /// <summary>The key does not exist (its version is 0): create it only if absent.</summary>
    public static SynodCompare Absent { get; } = new(CompareTarget.Version, CompareOp.Equal);

    /// <summary>The key exists and its value is <paramref name="value"/>.</summary>
    public static SynodCompare ValueIs(ReadOnlyMemory<byte> value) => new(CompareTarget.Value, CompareOp.Equal, 0, value);

    /// <summary>The key exists and its value is <paramref name="value"/> in UTF-8.</summary>
    public static SynodCompare ValueIs(string value) => ValueIs(Encoding.UTF8.GetBytes(value));

    /// <summary>The key's version (writes since it was created) is <paramref name="version"/>; 0 means absent.</summary>
    public static SynodCompare VersionIs(long version) => new(CompareTarget.Version, CompareOp.Equal, version);

    /// <summary>The key was last written at revision <paramref name="revision"/>; 0 means absent.</summary>
    public static SynodCompare ModRevisionIs(long revision) => new(CompareTarget.ModRevision, CompareOp.Equal, revision);

    internal Compare ToProto() => new()
    {
        Target = Target,
        Op = Op,
        Number = Number,
        Value = Google.Protobuf.ByteString.CopyFrom(Value.Span),
    };
}
