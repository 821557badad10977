using System.Text;
using System.Text.Json;
using Synod.Client;

namespace Synod.Cli;

/// <summary>`synod watch`: prints every change as it comes, until Ctrl+C or --max-events, surviving a replica's death.</summary>
internal static class WatchActions
{
    public static SynodRange Parse(string? key, string? prefix)
    {
        if ((key is null) == (prefix is null))
        {
            throw new ClientInputException("give a KEY or --prefix P (one of them): synod watch config, or synod watch --prefix svc/.");
        }

        if (key is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(key);
            return new SynodRange(bytes, (byte[])[.. bytes, 0]);
        }

        return SynodRange.Prefix(prefix!);
    }

    public static async Task<int> RunAsync(
        SynodClient client, SynodRange range, SynodWatchOptions options, long maxEvents, bool json, CancellationToken cancellationToken)
    {
        if (maxEvents < 0)
        {
            throw new ClientInputException($"--max-events is {maxEvents}; give 0 (until Ctrl+C) or a positive number.");
        }

        long printed = 0;
        try
        {
            await foreach (var change in client.WatchAsync(range, options, cancellationToken))
            {
                await Console.Out.WriteLineAsync(json ? Json(change, options.PrevKv) : Text(change, options.PrevKv));
                await Console.Out.FlushAsync(cancellationToken);
                if (change.Type != SynodWatchEventType.Progress && maxEvents > 0 && ++printed >= maxEvents)
                {
                    return ExitCodes.Ok;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C: the watch is over, as asked.
        }

        return ExitCodes.Ok;
    }

    /// <summary>etcdctl's lines: the type, the key, the value (with --prev-value, the previous value first).</summary>
    private static string Text(SynodWatchEvent change, bool prevValue)
    {
        if (change.Type == SynodWatchEventType.Progress)
        {
            return $"PROGRESS\n{change.Revision}";
        }

        var lines = new List<string> { change.Type == SynodWatchEventType.Put ? "PUT" : "DELETE", change.KeyAsString()! };
        if (prevValue && change.PrevKv is { } previous)
        {
            lines.Add(Encoding.UTF8.GetString(previous.Value.Span));
        }

        if (change.Type == SynodWatchEventType.Put)
        {
            lines.Add(change.ValueAsString()!);
        }

        return string.Join('\n', lines);
    }

    private static string Json(SynodWatchEvent change, bool prevValue)
    {
        var fields = new Dictionary<string, object?>
        {
            ["type"] = change.Type.ToString().ToLowerInvariant(),
            ["revision"] = change.Revision,
        };
        if (change.Kv is { } kv)
        {
            fields["key"] = change.KeyAsString();
            if (change.Type == SynodWatchEventType.Put)
            {
                fields["value"] = change.ValueAsString();
                fields["create_revision"] = kv.CreateRevision;
                fields["mod_revision"] = kv.ModRevision;
                fields["version"] = kv.Version;
            }
        }

        if (prevValue && change.Type != SynodWatchEventType.Progress)
        {
            fields["prev_value"] = change.PrevKv is { } previous ? Encoding.UTF8.GetString(previous.Value.Span) : null;
        }

        return JsonSerializer.Serialize(fields);
    }
}
