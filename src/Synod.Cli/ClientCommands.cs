using System.CommandLine;

namespace Synod.Cli;

/// <summary>
/// The client commands of `synod`: put, get, delete and status. They find the cluster through --endpoints,
/// else DATA_DIR/cluster.json, else 127.0.0.1:7001..7005, and report each kind of failure with one
/// "error: ..." line on stderr and its own exit code (<see cref="ExitCodes"/>).
/// </summary>
public static class ClientCommands
{
    public static IEnumerable<Command> All() => [Put(), Get(), Delete(), Status()];

    private static Command Put()
    {
        var key = new Argument<string>("key") { Description = "The key (UTF-8, 1 to 1024 bytes)." };
        var value = new Argument<string>("value") { Description = "The value (UTF-8, up to 1 MiB)." };
        var shared = new ClientCommandOptions();
        var command = new Command("put", "Set KEY to VALUE, exactly once however often it is retried; prints OK.") { key, value };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
            ClientActions.PutAsync(client, options, parse.GetValue(key)!, parse.GetValue(value)!, cancellationToken), cancellationToken));
        return command;
    }

    private static Command Get()
    {
        var key = new Argument<string>("key") { Description = "The key (UTF-8)." };
        var stale = new Option<bool>("--stale")
        {
            Description = "Answer from the contacted replica at once, without confirming it is current; says on stderr how far behind it may be.",
        };
        var shared = new ClientCommandOptions();
        var command = new Command("get", "Print the value of KEY; exit 3 if it has none.") { key, stale };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (context, client, options) =>
            ClientActions.GetAsync(context, client, options, parse.GetValue(key)!, parse.GetValue(stale), cancellationToken), cancellationToken));
        return command;
    }

    private static Command Delete()
    {
        var key = new Argument<string>("key") { Description = "The key (UTF-8)." };
        var shared = new ClientCommandOptions();
        var command = new Command("delete", "Remove KEY, exactly once; prints deleted, or exits 3 if it was absent.") { key };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
            ClientActions.DeleteAsync(client, options, parse.GetValue(key)!, cancellationToken), cancellationToken));
        return command;
    }

    private static Command Status()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array, one object per replica, instead of a table." };
        var shared = new ClientCommandOptions();
        var command = new Command("status", "Show every replica: up or down, role, ballot, commit and applied slots, lag, pid, leader.") { json };
        shared.AddTo(command, withNode: false, withTimeout: false);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (context, client, _) =>
            StatusAction.RunAsync(context, client, parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    private static Task<int> Run(
        ParseResult parse,
        ClientCommandOptions shared,
        Func<ClientCommandContext, Client.SynodClient, Client.SynodCallOptions?, Task<int>> body,
        CancellationToken cancellationToken) =>
        ClientCommandRun.RunAsync(
            parse.GetValue(shared.Endpoints),
            parse.GetValue(shared.DataDir),
            parse.GetValue(shared.Node),
            parse.GetValue(shared.Timeout),
            body,
            cancellationToken);
}
