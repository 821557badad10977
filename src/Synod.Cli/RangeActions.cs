using System.Text;
using System.Text.Json;
using Synod.Client;

namespace Synod.Cli;

/// <summary>`synod range`: the flags turned into a range, and the keys printed as etcdctl prints them (key, then value).</summary>
internal static class RangeActions
{
    public static SynodRange Parse(string? prefix, string? from, string? to, long limit, bool keysOnly, bool countOnly)
    {
        if (prefix is not null && (from is not null || to is not null))
        {
            throw new ClientInputException("give --prefix or --from (and --to), not both.");
        }

        if (prefix is null && from is null)
        {
            throw new ClientInputException("give --prefix P, or --from A (and --to B for the range [A, B)).");
        }

        if (limit < 0)
        {
            throw new ClientInputException($"--limit {limit}: give a positive number of keys.");
        }

        if (keysOnly && countOnly)
        {
            throw new ClientInputException("give --keys-only or --count-only, not both.");
        }

        var range = prefix is not null
            ? SynodRange.Prefix(prefix, limit, keysOnly, countOnly)
            : new SynodRange(Encoding.UTF8.GetBytes(from!), Encoding.UTF8.GetBytes(to ?? ""), limit, keysOnly, countOnly);
        if (range.From.Length > RangeKeyBytesMax || range.To.Length > RangeKeyBytesMax)
        {
            throw new ClientInputException($"a range's ends are at most {RangeKeyBytesMax} bytes.");
        }

        return range;
    }

    /// <summary>The longest start or end of a range: a key of the longest kind (1 KiB) and one byte more.</summary>
    private const int RangeKeyBytesMax = 1025;

    public static async Task<int> RunAsync(SynodClient client, SynodCallOptions? options, SynodRange range, bool stale, bool json, CancellationToken cancellationToken)
    {
        // One page answers a count and --json (its "more" says whether the range holds more); otherwise pages are read
        // and printed until the range or --limit is done.
        var first = await client.RangeAsync(range, stale, options, cancellationToken);
        IReadOnlyList<SynodKeyValue> kvs = first.Kvs;
        if (first.More && !range.CountOnly && !json && (range.Limit == 0 || first.Kvs.Count < range.Limit))
        {
            var all = new List<SynodKeyValue>();
            await foreach (var kv in client.RangeAllAsync(range, stale, options, cancellationToken))
            {
                all.Add(kv);
            }

            kvs = all;
        }

        if (json)
        {
            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["kvs"] = first.Kvs.Select(kv => new Dictionary<string, object>
                {
                    ["key"] = kv.KeyAsString(),
                    ["value"] = kv.ValueAsString(),
                    ["create_revision"] = kv.CreateRevision,
                    ["mod_revision"] = kv.ModRevision,
                    ["version"] = kv.Version,
                }).ToList(),
                ["more"] = first.More,
                ["count"] = first.Count,
                ["revision"] = first.Revision,
            }));
            return ExitCodes.Ok;
        }

        if (range.CountOnly)
        {
            await Console.Out.WriteLineAsync($"{first.Count}");
            return ExitCodes.Ok;
        }

        var output = new StringBuilder();
        foreach (var kv in kvs)
        {
            output.Append(kv.KeyAsString()).Append('\n');
            if (!range.KeysOnly)
            {
                output.Append(kv.ValueAsString()).Append('\n');
            }
        }

        await Console.Out.WriteAsync(output.ToString());
        return ExitCodes.Ok;
    }
}
