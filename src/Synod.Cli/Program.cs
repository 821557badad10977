using System.CommandLine;
using Synod.Cli;
using Synod.Cli.Bench;

// The executable's runtime has the concurrent collector (Synod.Cli.csproj) so that a replica with a large heap can
// switch to it (serve --background-gc-heap-bytes); every command starts with blocking collections, the faster kind
// for a small heap.
Synod.Server.CollectorMode.StartBlocking();
var root = new RootCommand("Synod: a fault-tolerant replicated key-value store (Multi-Paxos).");
root.Subcommands.Add(ClusterCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(CertsCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(BenchEchoCommand.Create());
root.Subcommands.Add(BenchFailoverCommand.Create());
root.Subcommands.Add(BenchWalCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(HealthCommand.Create());
root.Subcommands.Add(ChaosCommand.Create());
root.Subcommands.Add(NetnsCommand.Create());
foreach (var command in ClientCommands.All())
{
    root.Subcommands.Add(command);
}

// Replicas and the cluster supervisor shut down cleanly on SIGINT/SIGTERM; give them time to do it.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(15) };
var parsed = root.Parse(args);
if (CommandLineErrors.Describe(parsed) is { } problem)
{
    await Console.Error.WriteLineAsync($"error: {problem}");
    return ExitCodes.InvalidInput;
}

return await parsed.InvokeAsync(invocation);
