using Synod.Client;

namespace Synod.Cli;

/// <summary>`synod status`: asks every replica at once, each with a short timeout, and prints what came back.</summary>
internal static class StatusAction
{
    /// <summary>How long one replica may take to answer before it is shown as down.</summary>
    public static readonly TimeSpan ReplicaTimeout = TimeSpan.FromSeconds(1);

    /// <returns>Ok if at least one replica answered, else Unreachable.</returns>
    public static async Task<int> RunAsync(ClientCommandContext context, SynodClient client, bool json, CancellationToken cancellationToken)
    {
        var replicas = context.Cluster.Replicas;
        var rows = await Task.WhenAll(replicas.Select((replica, index) => RowAsync(client, replica, index, cancellationToken)));
        await Console.Out.WriteAsync(json ? StatusTable.Json(rows) : StatusTable.Text(rows));
        if (rows.Any(r => r.Up))
        {
            return ExitCodes.Ok;
        }

        await Console.Error.WriteLineAsync(ClientErrors.Line(
            $"none of the {rows.Length} replicas answered within {ReplicaTimeout.TotalSeconds:0.0} s; the list comes from {context.Source}."));
        return ExitCodes.Unreachable;
    }

    /// <summary>How often `status --watch` asks again.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// `status --watch`: the table drawn again in place every <see cref="WatchInterval"/> (the screen cleared first, on a
    /// terminal; one table after another when the output is redirected), or one JSON array per line with --json, until
    /// Ctrl-C (exit 0). A round where no replica answers says so in the table and goes on.
    /// </summary>
    public static async Task<int> WatchAsync(ClientCommandContext context, SynodClient client, bool json, CancellationToken cancellationToken)
    {
        var replicas = context.Cluster.Replicas;
        using var timer = new PeriodicTimer(WatchInterval);
        try
        {
            do
            {
                var rows = await Task.WhenAll(replicas.Select((replica, index) => RowAsync(client, replica, index, cancellationToken)));
                if (json)
                {
                    await Console.Out.WriteAsync(StatusTable.JsonLine(rows));
                    continue;
                }

                var screen = new System.Text.StringBuilder();
                if (!Console.IsOutputRedirected)
                {
                    // Home and clear, so the table stays in place instead of scrolling.
                    screen.Append("\u001b[H\u001b[2J");
                }

                screen.Append($"{DateTime.Now:HH:mm:ss}  every {WatchInterval.TotalSeconds:0} s; Ctrl-C stops\n").Append(StatusTable.Text(rows));
                if (Console.IsOutputRedirected)
                {
                    screen.Append('\n');
                }

                await Console.Out.WriteAsync(screen.ToString());
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C: the watch is over.
        }

        return ExitCodes.Ok;
    }

    private static async Task<StatusRow> RowAsync(
        SynodClient client, ClusterConfig.ReplicaEntry replica, int index, CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.StatusAsync(index, ReplicaTimeout, cancellationToken);
            return StatusRow.FromResponse(replica, response);
        }
        catch (SynodException e)
        {
            return StatusRow.Down(replica, ShortError(e));
        }
    }

    /// <summary>Why a replica did not answer, in a few words for the table.</summary>
    public static string ShortError(SynodException exception) => exception switch
    {
        SynodUnavailableException unavailable => unavailable.LastError ?? unavailable.LastServerMessage ?? unavailable.Message,
        _ => exception.Message,
    };
}
