using System.Text;
using Google.Protobuf;
using Synod.Protocol;

namespace Synod.Client;

/// <summary>
/// A transaction, built step by step: <c>client.Txn().If("acct/a", SynodCompare.ValueIs("100")).Then(SynodTxn.Put(...),
/// ...).Else(SynodTxn.Get(...)).CommitAsync()</c>. If every compare holds when it is applied, the Then operations run,
/// else the Else ones, in order, at one revision; reads in it see the writes before them in it. Exactly once, like a
/// put. At most 128 compares and 128 operations per branch, and 1 MiB + 1 KiB of keys and values in all.
/// </summary>
public sealed class SynodTxn
{
    private readonly SynodClient _client;
    private readonly List<TxnCompare> _compares = [];
    private readonly List<TxnOp> _success = [];
    private readonly List<TxnOp> _failure = [];

    internal SynodTxn(SynodClient client) => _client = client;

    /// <summary>Adds a compare on <paramref name="key"/>; every compare must hold.</summary>
    public SynodTxn If(ReadOnlyMemory<byte> key, SynodCompare compare)
    {
        ArgumentNullException.ThrowIfNull(compare);
        _compares.Add(new TxnCompare
        {
            Key = ByteString.CopyFrom(key.Span),
            Target = compare.Target,
            Op = compare.Op,
            Number = compare.Number,
            Value = ByteString.CopyFrom(compare.Value.Span),
        });
        return this;
    }

    /// <summary>Adds a compare on a key given as UTF-8.</summary>
    public SynodTxn If(string key, SynodCompare compare) => If(Encoding.UTF8.GetBytes(key), compare);

    /// <summary>The operations to run when every compare holds.</summary>
    public SynodTxn Then(params TxnOp[] ops)
    {
        _success.AddRange(ops);
        return this;
    }

    /// <summary>The operations to run when a compare does not hold.</summary>
    public SynodTxn Else(params TxnOp[] ops)
    {
        _failure.AddRange(ops);
        return this;
    }

    public static TxnOp Put(string key, string value) => Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));

    public static TxnOp Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value) =>
        new() { Kind = TxnOpKind.Put, Key = ByteString.CopyFrom(key.Span), Value = ByteString.CopyFrom(value.Span) };

    /// <summary>A put that attaches the key to lease <paramref name="lease"/> (0: none).</summary>
    public static TxnOp Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease) =>
        new() { Kind = TxnOpKind.Put, Key = ByteString.CopyFrom(key.Span), Value = ByteString.CopyFrom(value.Span), Lease = lease };

    /// <summary>A put of UTF-8 key and value that attaches the key to lease <paramref name="lease"/> (0: none).</summary>
    public static TxnOp Put(string key, string value, long lease) => Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), lease);

    public static TxnOp Delete(ReadOnlyMemory<byte> key) => new() { Kind = TxnOpKind.Delete, Key = ByteString.CopyFrom(key.Span) };

    public static TxnOp Get(ReadOnlyMemory<byte> key) => new() { Kind = TxnOpKind.Get, Key = ByteString.CopyFrom(key.Span) };

    public static TxnOp Delete(string key) => new() { Kind = TxnOpKind.Delete, Key = ByteString.CopyFromUtf8(key) };

    public static TxnOp Get(string key) => new() { Kind = TxnOpKind.Get, Key = ByteString.CopyFromUtf8(key) };

    public static TxnOp Range(SynodRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        return new TxnOp { Kind = TxnOpKind.Range, Key = ByteString.CopyFrom(range.From.Span), RangeEnd = ByteString.CopyFrom(range.To.Span), Limit = range.Limit };
    }

    /// <summary>Applies the transaction, exactly once however often it is retried.</summary>
    /// <exception cref="SynodInvalidArgumentException">A key twice in one branch, a limit passed, an empty key.</exception>
    public Task<TxnResult> CommitAsync(SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        _client.CommitTxnAsync(
            [.. _compares.Select(c => c.Clone())], [.. _success.Select(o => o.Clone())], [.. _failure.Select(o => o.Clone())], options, cancellationToken);
}

/// <summary>
/// A transaction's answer: whether its compares held (<see cref="Succeeded"/>: the Then operations ran; else the Else
/// ones), the revision it left, and one answer per operation of the branch that ran. A retry of a transaction already
/// applied (<see cref="Duplicate"/>, which the library may have sent for you after a lost answer) gives its branch and
/// revision only: <see cref="ResultsAvailable"/> is then false and <see cref="Results"/> empty; read the keys again.
/// </summary>
public sealed record TxnResult(
    bool Succeeded, long Revision, IReadOnlyList<TxnOpResult> Results, bool Duplicate, ulong Slot, uint ServedBy, string Endpoint, bool ResultsAvailable = true);
