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
