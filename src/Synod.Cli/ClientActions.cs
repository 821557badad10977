using System.Text.Json;
using Synod.Client;

namespace Synod.Cli;

/// <summary>What put, get and delete do once the client is connected: the call and what is printed.</summary>
internal static class ClientActions
{
    public static async Task<int> PutAsync(
        SynodClient client, SynodCallOptions? options, string key, string value, SynodCompare? compare, bool json, CancellationToken cancellationToken, long lease = 0)
    {
        var result = lease == 0
            ? await client.PutAsync(key, value, compare, options, cancellationToken)
            : await client.PutAsync(System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(value), lease, compare, options, cancellationToken);
        if (result.CompareFailed)
        {
            return await CompareFailedAsync(key, result.Revision, result.CreateRevision, result.ModRevision, result.Version, json);
        }

        await Console.Out.WriteLineAsync(json
            ? Json(new Dictionary<string, object>
            {
                ["key"] = key,
                ["revision"] = result.Revision,
                ["create_revision"] = result.CreateRevision,
                ["mod_revision"] = result.ModRevision,
                ["version"] = result.Version,
                ["duplicate"] = result.Duplicate,
                ["compare_failed"] = false,
            })
            : "OK");
        return ExitCodes.Ok;
    }

    /// <summary>Writes the value's bytes to stdout unchanged, then a newline; a stale read's lag goes to stderr.</summary>
    public static async Task<int> GetAsync(
        ClientCommandContext context, SynodClient client, SynodCallOptions? options, string key, bool stale, long revision, bool json, CancellationToken cancellationToken)
    {
        GetResult result;
        try
        {
            result = await client.GetAsync(key, revision, stale, options, cancellationToken);
        }
        catch (SynodNotFoundException)
        {
            await Console.Error.WriteLineAsync(revision == 0 ? KeyNotFoundLine(key) : ClientErrors.Line($"key {key} had no value at revision {revision}"));
            return ExitCodes.NotFound;
        }

        if (stale && result.LagSlots > 0)
        {
            await Console.Error.WriteLineAsync(StaleReadLine(context, result));
        }

        if (json)
        {
            await Console.Out.WriteLineAsync(Json(new Dictionary<string, object>
            {
                ["key"] = key,
                ["value"] = result.ValueAsString(),
                ["create_revision"] = result.CreateRevision,
                ["mod_revision"] = result.ModRevision,
                ["version"] = result.Version,
                ["revision"] = result.Revision,
            }));
            return ExitCodes.Ok;
        }

        await using var stdout = Console.OpenStandardOutput();
        await stdout.WriteAsync(result.Value, cancellationToken);
        await stdout.WriteAsync("\n"u8.ToArray(), cancellationToken);
        return ExitCodes.Ok;
    }

    public static async Task<int> CompactAsync(SynodClient client, SynodCallOptions? options, long revision, bool json, CancellationToken cancellationToken)
    {
        var kept = await client.CompactAsync(revision, options, cancellationToken);
        await Console.Out.WriteLineAsync(json
            ? Json(new Dictionary<string, object> { ["compact_revision"] = kept })
            : kept > revision ? $"compacted already: the oldest revision kept is {kept}" : $"compacted: the oldest revision kept is {kept}");
        return ExitCodes.Ok;
    }

    public static async Task<int> DeleteAsync(
        SynodClient client, SynodCallOptions? options, string key, SynodCompare? compare, bool json, CancellationToken cancellationToken)
    {
        var result = await client.DeleteAsync(key, compare, options, cancellationToken);
        if (result.CompareFailed)
        {
            return await CompareFailedAsync(key, result.Revision, createRevision: null, result.ModRevision, result.Version, json);
        }

        if (json)
        {
            await Console.Out.WriteLineAsync(Json(new Dictionary<string, object> { ["key"] = key, ["existed"] = result.Existed, ["revision"] = result.Revision }));
            return result.Existed ? ExitCodes.Ok : ExitCodes.NotFound;
        }

        if (!result.Existed)
        {
            await Console.Error.WriteLineAsync(KeyNotFoundLine(key));
            return ExitCodes.NotFound;
        }

        await Console.Out.WriteLineAsync("deleted");
        return ExitCodes.Ok;
    }

    /// <summary>A write whose compare did not hold: with --json the key's fields, then the stderr line, and exit 7.</summary>
    private static async Task<int> CompareFailedAsync(string key, long revision, long? createRevision, long modRevision, long version, bool json)
    {
        if (json)
        {
            var fields = new Dictionary<string, object> { ["key"] = key, ["compare_failed"] = true, ["revision"] = revision };
            if (createRevision is { } create)
            {
                fields["create_revision"] = create;
            }

            fields["mod_revision"] = modRevision;
            fields["version"] = version;
            await Console.Out.WriteLineAsync(Json(fields));
        }

        await Console.Error.WriteLineAsync(WriteConditionOptions.FailedLine(key, version, modRevision, revision));
        return ExitCodes.CompareFailed;
    }

    private static string Json(Dictionary<string, object> fields) => JsonSerializer.Serialize(fields);

    public static string KeyNotFoundLine(string key) => ClientErrors.Line($"key not found: {key}");

    /// <summary>"stale read from replica N, applied slot S, may be L slots behind", naming the replica by its cluster id.</summary>
    public static string StaleReadLine(ClientCommandContext context, GetResult result)
    {
        var replica = context.Cluster.Replicas.FirstOrDefault(r => string.Equals(r.Endpoint, result.Endpoint, StringComparison.OrdinalIgnoreCase));
        var id = replica?.Id ?? (int)result.ServedBy;
        var slots = result.LagSlots == 1 ? "slot" : "slots";
        return $"stale read from replica {id}, applied slot {result.AppliedSlot}, may be {result.LagSlots} {slots} behind";
    }
}
