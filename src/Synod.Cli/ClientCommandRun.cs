using Synod.Client;

namespace Synod.Cli;

/// <summary>
/// Runs the body of a client command against a connected <see cref="SynodClient"/>: resolves the cluster and
/// the shared options, and turns every failure into one stderr line and its exit code.
/// </summary>
internal static class ClientCommandRun
{
    /// <param name="endpoints">--endpoints, or null.</param>
    /// <param name="dataDir">--data-dir.</param>
    /// <param name="tls">--cacert, --cert and --key.</param>
    /// <param name="node">--node, or null.</param>
    /// <param name="timeout">--timeout, or null.</param>
    /// <param name="body">The command's work, given the cluster, the client and the call options (--node pins).</param>
    /// <param name="cancellationToken">Cancelled on Ctrl+C.</param>
    public static async Task<int> RunAsync(
        string? endpoints,
        string? dataDir,
        ClientTlsFlags tls,
        string? node,
        string? timeout,
        Func<ClientCommandContext, SynodClient, SynodCallOptions?, Task<int>> body,
        CancellationToken cancellationToken,
        string? user = null,
        string? passwordFile = null)
    {
        try
        {
            var context = ClientCommandContext.Resolve(endpoints, dataDir, tls);
            var operationTimeout = ClientCommandContext.ParseTimeout(timeout);
            var pinned = context.EndpointIndexOfNode(node);
            var (name, password) = UserFlag.Parse(user, passwordFile);
            SynodClient created;
            try
            {
                created = new SynodClient(context.ClientOptions(operationTimeout) with { User = name, Password = password });
            }
            catch (ArgumentException e)
            {
                throw new ClientInputException($"--user: {e.Message}", e);
            }

            await using var client = created;
            var callOptions = pinned is { } index ? SynodCallOptions.Pinned(index) : null;
            return await body(context, client, callOptions);
        }
        catch (Exception e) when (e is ClientInputException or SynodException
            || (e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            await Console.Error.WriteLineAsync(ClientErrors.Line(e));
            return ClientErrors.ExitCode(e);
        }
    }
}
