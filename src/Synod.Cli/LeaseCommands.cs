using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Synod.Client;
using Synod.Client.Coordination;

namespace Synod.Cli;

/// <summary>`synod lease`, `synod lock` and `synod elect` (docs/api.md, "Leases"), with etcdctl's habits.</summary>
internal static class LeaseCommands
{
    public static Command Lease()
    {
        var command = new Command("lease", "Grant, keep alive, revoke, query and list leases: keys put with --lease ID vanish when the lease ends.");
        command.Subcommands.Add(Grant());
        command.Subcommands.Add(KeepAlive());
        command.Subcommands.Add(Revoke());
        command.Subcommands.Add(Ttl());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command Grant()
    {
        var ttl = new Argument<long>("ttl") { Description = "Seconds; at least the cluster's minimum (twice the longest election, rounded up)." };
        var json = ClientCommands.JsonOption("{\"id\": N, \"ttl\": SECONDS}");
        var shared = new ClientCommandOptions();
        var command = new Command("grant", "Grant a lease of TTL seconds; prints its id. It lasts at least TTL seconds, as the leader measures them, from the grant or the last keep-alive.") { ttl, json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var lease = await client.GrantLeaseAsync(parse.GetValue(ttl), 0, options, cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(new Dictionary<string, object> { ["id"] = lease.Id, ["ttl"] = lease.TtlSeconds })
                : $"lease {lease.Id} granted with TTL {lease.TtlSeconds}s");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command KeepAlive()
    {
        var id = new Argument<long>("id") { Description = "The lease id." };
        var once = new Option<bool>("--once") { Description = "Keep it alive once and exit." };
        var json = ClientCommands.JsonOption("per keep-alive, {\"id\", \"ttl\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("keepalive", "Keep lease ID alive every third of its TTL until Ctrl+C, printing what is left of it; exit 3 once it no longer exists.") { id, once, json };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var leaseId = parse.GetValue(id);
            while (true)
            {
                var left = await client.KeepAliveOnceAsync(leaseId, options, cancellationToken);
                if (left < 0)
                {
                    await Console.Error.WriteLineAsync(ClientErrors.Line($"lease {leaseId} not found: it expired or was revoked"));
                    return ExitCodes.NotFound;
                }

                await Console.Out.WriteLineAsync(parse.GetValue(json)
                    ? JsonSerializer.Serialize(new Dictionary<string, object> { ["id"] = leaseId, ["ttl"] = left })
                    : $"lease {leaseId} kept alive with TTL {left}s");
                if (parse.GetValue(once))
                {
                    return ExitCodes.Ok;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, left) / 3.0), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return ExitCodes.Ok;
                }
            }
        }, cancellationToken));
        return command;
    }

    private static Command Revoke()
    {
        var id = new Argument<long>("id") { Description = "The lease id." };
        var json = ClientCommands.JsonOption("{\"id\", \"revision\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("revoke", "End lease ID now: every key attached to it is deleted, all at one revision; exit 3 if it does not exist.") { id, json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var revision = await client.RevokeLeaseAsync(parse.GetValue(id), options, cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(new Dictionary<string, object> { ["id"] = parse.GetValue(id), ["revision"] = revision })
                : $"lease {parse.GetValue(id)} revoked");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command Ttl()
    {
        var id = new Argument<long>("id") { Description = "The lease id." };
        var keys = new Option<bool>("--keys") { Description = "List the keys attached to it too." };
        var json = ClientCommands.JsonOption("{\"id\", \"ttl\", \"granted_ttl\", \"keys\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("ttl", "Print what is left of lease ID's TTL by its leader's clock, and its granted TTL; exit 3 if it does not exist.") { id, keys, json };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var leaseId = parse.GetValue(id);
            var lease = await client.LeaseTimeToLiveAsync(leaseId, parse.GetValue(keys), options, cancellationToken);
            if (!lease.Found)
            {
                await Console.Error.WriteLineAsync(ClientErrors.Line($"lease {leaseId} not found: it expired or was revoked"));
                return ExitCodes.NotFound;
            }

            var keyTexts = lease.Keys.Select(k => System.Text.Encoding.UTF8.GetString(k)).ToList();
            await Console.Out.WriteLineAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(new Dictionary<string, object> { ["id"] = leaseId, ["ttl"] = lease.RemainingSeconds, ["granted_ttl"] = lease.GrantedSeconds, ["keys"] = keyTexts })
                : $"lease {leaseId} granted with TTL {lease.GrantedSeconds}s, remaining {lease.RemainingSeconds}s" + (parse.GetValue(keys) ? $", attached keys [{string.Join(", ", keyTexts)}]" : ""));
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command List()
    {
        var json = ClientCommands.JsonOption("[{\"id\", \"ttl\"}, ...] (ttl: the granted TTL)");
        var shared = new ClientCommandOptions();
        var command = new Command("list", "List the live leases, one id per line with its granted TTL.") { json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var (leases, more) = await client.LeasesAsync(options, cancellationToken);
            if (parse.GetValue(json))
            {
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(leases.Select(l => new Dictionary<string, object> { ["id"] = l.Id, ["ttl"] = l.TtlSeconds })));
            }
            else
            {
                foreach (var lease in leases)
                {
                    await Console.Out.WriteLineAsync($"{lease.Id} ttl={lease.TtlSeconds}s");
                }
            }

            if (more)
            {
                await Console.Error.WriteLineAsync($"more leases are live than one answer lists ({leases.Count} shown)");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    public static Command Lock()
    {
        var name = new Argument<string>("name") { Description = "The lock's name: contenders queue under the prefix NAME/." };
        var exec = new Argument<string[]>("command") { Description = "A command to run while holding the lock (after --); without one, hold until Ctrl+C.", Arity = ArgumentArity.ZeroOrMore };
        var ttl = new Option<long>("--ttl") { Description = "The session's lease TTL in seconds (default 10): how soon the lock passes on if this process dies.", DefaultValueFactory = _ => 10 };
        var json = ClientCommands.JsonOption("{\"key\", \"token\"} when the lock is taken");
        var shared = new ClientCommandOptions();
        var command = new Command(
            "lock",
            "Take lock NAME (waiting in line), print its key and fencing token, run COMMAND with the token in SYNOD_LOCK_TOKEN, and release it when COMMAND exits (with COMMAND's exit code). Exit 4 if the lock was lost meanwhile.")
        {
            name, exec, ttl, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: false);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, _) =>
        {
            await using var session = await client.CreateSessionAsync(parse.GetValue(ttl), cancellationToken);
            var token = await new SynodMutex(session, parse.GetValue(name)!).LockAsync(cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(new Dictionary<string, object> { ["key"] = token.Key, ["token"] = token.Token })
                : $"{token.Key} token={token.Token}");
            await Console.Out.FlushAsync(cancellationToken);
            var args = parse.GetValue(exec) ?? [];
            var exit = ExitCodes.Ok;
            if (args.Length == 0)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lost).Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
            else
            {
                var start = new ProcessStartInfo(args[0]) { UseShellExecute = false };
                foreach (var arg in args.Skip(1))
                {
                    start.ArgumentList.Add(arg);
                }

                start.Environment["SYNOD_LOCK_TOKEN"] = token.Token.ToString(System.Globalization.CultureInfo.InvariantCulture);
                start.Environment["SYNOD_LOCK_KEY"] = token.Key;
                using var process = Process.Start(start) ?? throw new ClientInputException($"could not start {args[0]}");
                await process.WaitForExitAsync(CancellationToken.None);
                exit = process.ExitCode;
            }

            if (session.IsLost)
            {
                await Console.Error.WriteLineAsync(ClientErrors.Line($"the lock {token.Key} was lost while held: {session.LostReason}; writes fenced with token {token.Token} are refused from then on"));
                return ExitCodes.Unavailable;
            }

            await token.UnlockAsync(CancellationToken.None);
            return exit;
        }, cancellationToken));
        return command;
    }

    public static Command Elect()
    {
        var name = new Argument<string>("name") { Description = "The election's name: candidates queue under the prefix NAME/." };
        var value = new Argument<string?>("value") { Description = "The value to proclaim while leading.", Arity = ArgumentArity.ZeroOrOne };
        var observe = new Option<bool>("--observe") { Description = "Print each new leader's value instead of campaigning, until Ctrl+C." };
        var ttl = new Option<long>("--ttl") { Description = "The session's lease TTL in seconds (default 10): how soon leadership passes on if this process dies.", DefaultValueFactory = _ => 10 };
        var json = ClientCommands.JsonOption("{\"key\", \"value\", \"revision\"} per leader");
        var shared = new ClientCommandOptions();
        var command = new Command("elect", "Campaign in election NAME with VALUE, print it once leading, and lead until Ctrl+C (then resign); or --observe the leader.")
        {
            name, value, observe, ttl, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: false);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, _) =>
        {
            var election = new SynodElection(client, parse.GetValue(name)!);
            var asJson = parse.GetValue(json);
            if (parse.GetValue(observe))
            {
                try
                {
                    await foreach (var (key, leaderValue, revision) in election.ObserveAsync(cancellationToken))
                    {
                        await Console.Out.WriteLineAsync(asJson
                            ? JsonSerializer.Serialize(new Dictionary<string, object> { ["key"] = key, ["value"] = leaderValue, ["revision"] = revision })
                            : key.Length == 0 ? "(no leader)" : leaderValue);
                        await Console.Out.FlushAsync(cancellationToken);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }

                return ExitCodes.Ok;
            }

            var proclaimed = parse.GetValue(value) ?? throw new ClientInputException("elect needs a VALUE to campaign with, or --observe");
            await using var session = await client.CreateSessionAsync(parse.GetValue(ttl), cancellationToken);
            var leadership = await election.CampaignAsync(session, proclaimed, cancellationToken);
            await Console.Out.WriteLineAsync(asJson
                ? JsonSerializer.Serialize(new Dictionary<string, object> { ["key"] = leadership.Key, ["value"] = proclaimed, ["revision"] = leadership.Revision })
                : $"{leadership.Key} leads with {proclaimed}");
            await Console.Out.FlushAsync(cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lost).Token);
            }
            catch (OperationCanceledException)
            {
            }

            if (session.IsLost)
            {
                await Console.Error.WriteLineAsync(ClientErrors.Line($"leadership of {parse.GetValue(name)} was lost: {session.LostReason}"));
                return ExitCodes.Unavailable;
            }

            await leadership.ResignAsync(CancellationToken.None);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }
}
