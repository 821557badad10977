using System.Text;
using System.Text.Json;
using Synod.Client;
using Synod.Protocol;

namespace Synod.Cli;

/// <summary>
/// `synod txn [FILE]`: a transaction read as JSON (docs/api.md, "Transactions") from the file or stdin, applied, and its
/// branch and each result printed as etcdctl prints them (SUCCESS or FAILURE, then one block per operation).
/// </summary>
internal static class TxnActions
{
    /// <summary>The longest transaction file read, in bytes: a transaction's keys and values and room for the JSON around them.</summary>
    private const int TxnFileBytesMax = 4 * 1024 * 1024;

    public static string ReadText(string? path)
    {
        try
        {
            if (path is not null && path != "-")
            {
                var info = new FileInfo(path);
                if (info.Exists && info.Length > TxnFileBytesMax)
                {
                    throw new ClientInputException($"{path} is {info.Length} bytes, over the {TxnFileBytesMax} bytes a transaction file may have.");
                }

                return File.ReadAllText(path);
            }

            var buffer = new char[TxnFileBytesMax + 1];
            var read = Console.In.ReadBlock(buffer, 0, buffer.Length);
            return read > TxnFileBytesMax
                ? throw new ClientInputException($"stdin holds more than the {TxnFileBytesMax} bytes a transaction may have.")
                : new string(buffer, 0, read);
        }
        catch (IOException e)
        {
            throw new ClientInputException($"cannot read the transaction from {path ?? "stdin"}: {e.Message}", e);
        }
    }

    /// <summary>Builds the transaction from its JSON, or throws <see cref="ClientInputException"/> naming what is wrong where.</summary>
    public static SynodTxn Parse(SynodClient client, string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ClientInputException($"the transaction is not valid JSON ({e.Message}).");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ClientInputException("the transaction must be a JSON object with \"compare\", \"success\" and \"failure\" arrays.");
            }

            var txn = client.Txn();
            foreach (var (compare, index) in Items(root, "compare"))
            {
                var key = Text(compare, "key", $"compare[{index}]") ?? throw Missing($"compare[{index}]", "key");
                txn.If(key, CompareOf(compare, $"compare[{index}]"));
            }

            txn.Then([.. Items(root, "success").Select(item => OpOf(item.Element, $"success[{item.Index}]"))]);
            txn.Else([.. Items(root, "failure").Select(item => OpOf(item.Element, $"failure[{item.Index}]"))]);
            return txn;
        }
    }

    public static async Task<int> RunAsync(SynodTxn txn, SynodCallOptions? options, bool json, CancellationToken cancellationToken)
    {
        var result = await txn.CommitAsync(options, cancellationToken);
        if (json)
        {
            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["succeeded"] = result.Succeeded,
                ["revision"] = result.Revision,
                ["duplicate"] = result.Duplicate,
                ["results_available"] = result.ResultsAvailable,
                ["results"] = result.Results.Select(JsonOf).ToList(),
            }));
            return ExitCodes.Ok;
        }

        var text = new StringBuilder(result.Succeeded ? "SUCCESS\n" : "FAILURE\n");
        if (!result.ResultsAvailable)
        {
            text.Append("(a retry of a transaction already applied: its results are not repeated; read the keys again)\n");
        }

        foreach (var answer in result.Results)
        {
            text.Append('\n');
            switch (answer.Kind)
            {
                case TxnOpKind.Put:
                    text.Append("OK\n");
                    break;
                case TxnOpKind.Delete:
                    text.Append(answer.Existed ? "deleted\n" : "(absent)\n");
                    break;
                case TxnOpKind.Get when !answer.Found:
                    text.Append("(absent)\n");
                    break;
                case TxnOpKind.Get:
                    text.Append(answer.Kv.Key.ToStringUtf8()).Append('\n').Append(answer.Kv.Value.ToStringUtf8()).Append('\n');
                    break;
                default:
                    foreach (var kv in answer.Kvs)
                    {
                        text.Append(kv.Key.ToStringUtf8()).Append('\n').Append(kv.Value.ToStringUtf8()).Append('\n');
                    }

                    break;
            }
        }

        await Console.Out.WriteAsync(text.ToString());
        return ExitCodes.Ok;
    }

    private static Dictionary<string, object> JsonOf(TxnOpResult answer)
    {
        var fields = new Dictionary<string, object> { ["op"] = answer.Kind.ToString().ToLowerInvariant() };
        switch (answer.Kind)
        {
            case TxnOpKind.Put:
                fields["mod_revision"] = answer.Kv?.ModRevision ?? 0;
                fields["version"] = answer.Kv?.Version ?? 0;
                break;
            case TxnOpKind.Delete:
                fields["existed"] = answer.Existed;
                break;
            case TxnOpKind.Get:
                fields["found"] = answer.Found;
                if (answer.Found)
                {
                    fields["kv"] = KvJson(answer.Kv);
                }

                break;
            default:
                fields["kvs"] = answer.Kvs.Select(KvJson).ToList();
                fields["more"] = answer.More;
                fields["count"] = answer.Count;
                break;
        }

        return fields;
    }

    private static Dictionary<string, object> KvJson(KeyValue kv) => new()
    {
        ["key"] = kv.Key.ToStringUtf8(),
        ["value"] = kv.Value.ToStringUtf8(),
        ["create_revision"] = kv.CreateRevision,
        ["mod_revision"] = kv.ModRevision,
        ["version"] = kv.Version,
    };

    private static IEnumerable<(JsonElement Element, int Index)> Items(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        return array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Select((element, index) => (element, index)).ToList()
            : throw new ClientInputException($"\"{name}\" must be an array.");
    }

    private static SynodCompare CompareOf(JsonElement compare, string where)
    {
        var target = (Text(compare, "target", where) ?? throw Missing(where, "target")) switch
        {
            "value" => CompareTarget.Value,
            "version" => CompareTarget.Version,
            "create" or "create_revision" => CompareTarget.CreateRevision,
            "mod" or "mod_revision" => CompareTarget.ModRevision,
            var other => throw new ClientInputException($"{where}: target \"{other}\" is not value, version, create or mod."),
        };
        var op = (Text(compare, "op", where) ?? throw Missing(where, "op")) switch
        {
            "=" or "==" => CompareOp.Equal,
            "!=" => CompareOp.NotEqual,
            "<" => CompareOp.Less,
            ">" => CompareOp.Greater,
            var other => throw new ClientInputException($"{where}: op \"{other}\" is not =, !=, < or >."),
        };
        if (target == CompareTarget.Value)
        {
            return new SynodCompare(target, op, 0, Encoding.UTF8.GetBytes(Text(compare, "value", where) ?? throw Missing(where, "value")));
        }

        return compare.TryGetProperty("number", out var number) && number.TryGetInt64(out var n)
            ? new SynodCompare(target, op, n)
            : throw new ClientInputException($"{where}: a {target} compare needs \"number\", a whole number.");
    }

    private static TxnOp OpOf(JsonElement op, string where)
    {
        var key = Text(op, "key", where);
        return (Text(op, "op", where) ?? throw Missing(where, "op")) switch
        {
            "put" => SynodTxn.Put(key ?? throw Missing(where, "key"), Text(op, "value", where) ?? throw Missing(where, "value")),
            "delete" => SynodTxn.Delete(key ?? throw Missing(where, "key")),
            "get" => SynodTxn.Get(key ?? throw Missing(where, "key")),
            "range" => SynodTxn.Range(RangeActions.Parse(
                Text(op, "prefix", where), Text(op, "from", where), Text(op, "to", where),
                op.TryGetProperty("limit", out var limit) && limit.TryGetInt64(out var l) ? l : 0, keysOnly: false, countOnly: false)),
            var other => throw new ClientInputException($"{where}: op \"{other}\" is not put, delete, get or range."),
        };
    }

    private static string? Text(JsonElement element, string name, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ClientInputException($"{where} must be a JSON object.");
        }

        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new ClientInputException($"{where}: \"{name}\" must be a string.");
    }

    private static ClientInputException Missing(string where, string name) => new($"{where}: \"{name}\" is missing.");
}
