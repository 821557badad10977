using System.CommandLine;
using Synod.Client;

namespace Synod.Cli;

/// <summary>
/// `synod cluster add` and `synod cluster remove ID`: grow and shrink the local cluster that a running `synod cluster`
/// supervises. They change the membership through the leader, one change at a time, as `synod member` does; the
/// supervisor sees the change and starts the new replica (with --join, in DATA_DIR/rID) or lets the removed one stop.
/// </summary>
internal static class ClusterMembershipCommands
{
    /// <summary>How long `remove` waits for the change before it, and then its own, to take effect.</summary>
    private const int WaitSeconds = 60;

    /// <summary>How many ports above the highest one in use `add` tries before it gives up.</summary>
    private const int PortSearchMax = 100;

    public static Command Add()
    {
        var learner = new Option<bool>("--learner") { Description = "Leave the new replica a learner (default: promote it to voter once it has caught up)." };
        var wait = new Option<int>("--wait-seconds") { Description = "How long to wait for the new replica to start and catch up.", DefaultValueFactory = _ => 120 };
        var json = ClientCommands.JsonOption("per step {\"step\", \"revision\", \"effective_from\", \"members\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("add", "Add a replica to the local cluster that `synod cluster` runs from --data-dir: the next id, the next free port; it joins as a learner, catches up, and is promoted.")
        {
            learner, wait, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (context, client, options) =>
        {
            RequireLocalCluster(context);
            var members = await client.MembersAsync(options, cancellationToken);
            var id = Math.Max(members.IdMax, context.Cluster.Replicas.Max(r => r.Id)) + 1;
            var endpoint = $"127.0.0.1:{FreePort(context.Cluster.Replicas.Select(r => r.Endpoint).Concat(members.Members.Select(m => m.Endpoint)))}";
            var promote = !parse.GetValue(learner);
            try
            {
                await MemberCommands.AddAndPromoteAsync(client, options, id, endpoint, promote, promote ? "step {0} of 2" : "step {0} of 1",
                    "the running `synod cluster` starts it", DateTime.UtcNow + TimeSpan.FromSeconds(parse.GetValue(wait)), parse.GetValue(json), cancellationToken);
            }
            catch (TimeoutException e)
            {
                await Console.Error.WriteLineAsync(ClientErrors.Line(
                    $"{e.Message}; is `synod cluster --data-dir {Path.GetDirectoryName(context.Source)}` running? It starts the replicas that are added"));
                return ExitCodes.Undecided;
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    public static Command Remove()
    {
        var target = new Argument<int>("id") { Description = "The replica to remove (voter or learner)." };
        var json = ClientCommands.JsonOption("{\"step\", \"revision\", \"effective_from\", \"members\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("remove", "Remove replica ID from the local cluster that `synod cluster` runs: it votes in every slot it still owes, then stops; `synod cluster` keeps its data folder.")
        {
            target, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (context, client, options) =>
        {
            RequireLocalCluster(context);
            var id = parse.GetValue(target);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(WaitSeconds);
            try
            {
                await MemberCommands.WaitAsync(client, options, m => !m.Pending, deadline, "the change before to take effect", cancellationToken);
                var members = await client.ChangeMemberAsync(SynodMemberChange.Remove, id, "", options, cancellationToken);
                members = await MemberCommands.WaitAsync(client, options, m => !m.Pending, deadline, "the removal to take effect", cancellationToken);
                await MemberCommands.Print(parse.GetValue(json),
                    $"replica {id} removed (revision {members.Revision}, in effect); it stops on its own, and `synod cluster` reports it", members);
            }
            catch (TimeoutException e)
            {
                await Console.Error.WriteLineAsync(ClientErrors.Line(e.Message));
                return ExitCodes.Undecided;
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static void RequireLocalCluster(ClientCommandContext context)
    {
        if (!context.Source.EndsWith(ClusterConfig.FileName, StringComparison.Ordinal))
        {
            throw new ClientInputException(
                $"`synod cluster add` and `remove` work on a local cluster that `synod cluster` runs, found by its {ClusterConfig.FileName} (--data-dir); the cluster here comes from {context.Source}. Use `synod member` for other clusters");
        }
    }

    /// <summary>The first port above every one in <paramref name="used"/> that nothing listens on.</summary>
    private static int FreePort(IEnumerable<string> used)
    {
        var highest = used.Select(e => Synod.Protocol.HostPort.TryParse(e, out _, out var port, out _) ? port : 0).DefaultIfEmpty(7000).Max();
        for (var port = highest + 1; port <= Math.Min(65535, highest + PortSearchMax); port++)
        {
            if (LoopbackPort.IsFree(port))
            {
                return port;
            }
        }

        throw new ClientInputException($"no free port among {highest + 1}..{highest + PortSearchMax} on 127.0.0.1; free one, or add the replica with `synod member add ID=HOST:PORT`");
    }
}
