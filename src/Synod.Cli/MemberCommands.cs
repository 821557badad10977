using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Synod.Client;

namespace Synod.Cli;

/// <summary>`synod member list|add|promote|remove|update|replace` (docs/api.md, "Membership"), as etcdctl member.</summary>
internal static class MemberCommands
{
    /// <summary>How often `replace` looks again while it waits for a change to take effect or a learner to catch up.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The lag in slots within which `replace` promotes the new learner (the leader refuses beyond PromoteLagSlotsMax).</summary>
    private const long CaughtUpLagSlotsMax = 100;

    public static Command Member()
    {
        var command = new Command("member", "List the cluster's replicas and change them one at a time: add a learner, promote it, remove a replica, replace one, move one to a new endpoint.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Change("add", "ID=HOST:PORT", "Add a new replica as a learner (it receives the log and votes in nothing); then start it with `synod serve --id ID --join ...`.", SynodMemberChange.AddLearner));
        command.Subcommands.Add(Change("promote", "ID", "Make learner ID a voter; refused until it has caught up.", SynodMemberChange.Promote));
        command.Subcommands.Add(Change("remove", "ID", "Remove replica ID (voter or learner); it stops on its own once it has voted in every slot it owes. Its id is never used again.", SynodMemberChange.Remove));
        command.Subcommands.Add(Change("update", "ID=HOST:PORT", "Reach replica ID at a new endpoint (a host that came back at a new address).", SynodMemberChange.SetEndpoint));
        command.Subcommands.Add(Replace());
        return command;
    }

    private static Command List()
    {
        var json = ClientCommands.JsonOption("[{\"id\", \"endpoint\", \"role\": \"voter\"|\"learner\", \"applied\", \"lag\", \"revision\"}, ...]");
        var shared = new ClientCommandOptions();
        var command = new Command("list", "List the members: id, endpoint, voter or learner, the commit index each last reported and its lag, and the configuration's revision.") { json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var members = await client.MembersAsync(options, cancellationToken);
            if (parse.GetValue(json))
            {
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(members.Members.Select(m => MemberJson(m, members))));
                return ExitCodes.Ok;
            }

            await Console.Out.WriteLineAsync($"configuration revision {members.Revision}{(members.Pending ? $", takes effect at slot {members.EffectiveFrom} (pending)" : "")}; as replica {members.ServedBy} knows it (commit index {members.CommitIndex})");
            foreach (var member in members.Members)
            {
                await Console.Out.WriteLineAsync($"{member.Id}  {member.Endpoint,-22} {member.Role,-8} applied={member.Applied} lag={member.Lag}{(member.Id == members.LeaderId ? "  leader" : "")}");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Dictionary<string, object> MemberJson(SynodMember member, SynodMembers members) => new()
    {
        ["id"] = member.Id,
        ["endpoint"] = member.Endpoint,
        ["role"] = member.Role,
        ["applied"] = member.Applied,
        ["lag"] = member.Lag,
        ["revision"] = members.Revision,
        ["leader"] = member.Id == members.LeaderId,
    };

    private static Command Change(string name, string argument, string description, SynodMemberChange change)
    {
        var target = new Argument<string>(argument.Contains('=', StringComparison.Ordinal) ? "id=endpoint" : "id") { Description = argument };
        var json = ClientCommands.JsonOption("{\"revision\", \"effective_from\", \"members\": [...]}");
        var shared = new ClientCommandOptions();
        var command = new Command(name, description) { target, json };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var (id, endpoint) = ParseTarget(parse.GetValue(target)!, needsEndpoint: argument.Contains('=', StringComparison.Ordinal));
            var members = await client.ChangeMemberAsync(change, id, endpoint, options, cancellationToken);
            await Print(parse.GetValue(json), $"member {name} {id}: configuration revision {members.Revision} takes effect at slot {members.EffectiveFrom}", members);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command Replace()
    {
        var old = new Argument<int>("old") { Description = "The replica to replace." };
        var target = new Argument<string>("new") { Description = "NEW_ID=HOST:PORT of the replacement." };
        var wait = new Option<int>("--wait-seconds") { Description = "How long to wait for the new replica to start and catch up before giving up (it stays a learner then).", DefaultValueFactory = _ => 120 };
        var json = ClientCommands.JsonOption("one {\"step\", \"revision\", ...} per step");
        var shared = new ClientCommandOptions();
        var command = new Command("replace", "Replace replica OLD with NEW: add NEW as a learner, wait until it has caught up (start it meanwhile with `synod serve --join`), promote it, remove OLD; each step is printed.")
        {
            old, target, wait, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            try
            {
                return await ReplaceAsync(parse, client, options, old, target, wait, json, cancellationToken);
            }
            catch (TimeoutException e)
            {
                await Console.Error.WriteLineAsync(ClientErrors.Line(e.Message));
                return ExitCodes.Undecided;
            }
        }, cancellationToken));
        return command;
    }

    private static async Task<int> ReplaceAsync(
        ParseResult parse, SynodClient client, SynodCallOptions? options, Argument<int> old, Argument<string> target, Option<int> wait, Option<bool> json,
        CancellationToken cancellationToken)
    {
        var (id, endpoint) = ParseTarget(parse.GetValue(target)!, needsEndpoint: true);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(parse.GetValue(wait));
        var asJson = parse.GetValue(json);
        await AddAndPromoteAsync(client, options, id, endpoint, promote: true, "step {0} of 3", "start it with `synod serve --id {id} --join ...`", deadline, asJson, cancellationToken);
        var members = await client.ChangeMemberAsync(SynodMemberChange.Remove, parse.GetValue(old), "", options, cancellationToken);
        await Print(asJson, $"step 3 of 3: replica {parse.GetValue(old)} removed (revision {members.Revision}, in effect from slot {members.EffectiveFrom}); it stops on its own", members);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Adds replica <paramref name="id"/> as a learner at <paramref name="endpoint"/> (unless it is a member already),
    /// waits until it has started and caught up, and promotes it if <paramref name="promote"/>; prints each step as
    /// <paramref name="step"/> (with {0} the step's number), saying how the replica gets started (<paramref name="howStarted"/>).
    /// </summary>
    /// <exception cref="TimeoutException">It did not start or catch up before <paramref name="deadline"/>.</exception>
    public static async Task<SynodMembers> AddAndPromoteAsync(
        SynodClient client, SynodCallOptions? options, int id, string endpoint, bool promote, string step, string howStarted, DateTime deadline, bool asJson,
        CancellationToken cancellationToken)
    {
        // One change at a time: wait for the one before to take effect, rather than be refused.
        var members = await WaitAsync(client, options, m => !m.Pending, deadline, "the change before to take effect", cancellationToken);
        if (!members.Members.Any(m => m.Id == id))
        {
            members = await client.ChangeMemberAsync(SynodMemberChange.AddLearner, id, endpoint, options, cancellationToken);
            await Print(asJson, $"{string.Format(CultureInfo.InvariantCulture, step, 1)}: replica {id} added as a learner at {endpoint} (revision {members.Revision}); {howStarted}", members);
        }

        members = await WaitAsync(client, options, m => !m.Pending && m.Members.FirstOrDefault(x => x.Id == id) is { Applied: > 0 } learner && learner.Lag <= CaughtUpLagSlotsMax,
            deadline, $"replica {id} to start and catch up", cancellationToken);
        if (promote && !members.Members.Single(m => m.Id == id).Voter)
        {
            members = await client.ChangeMemberAsync(SynodMemberChange.Promote, id, "", options, cancellationToken);
            await Print(asJson, $"{string.Format(CultureInfo.InvariantCulture, step, 2)}: replica {id} promoted to voter (revision {members.Revision}, in effect from slot {members.EffectiveFrom})", members);
        }

        return await WaitAsync(client, options, m => !m.Pending, deadline, "the change to take effect", cancellationToken);
    }

    public static async Task<SynodMembers> WaitAsync(
        SynodClient client, SynodCallOptions? options, Func<SynodMembers, bool> done, DateTime deadline, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var members = await client.MembersAsync(options, cancellationToken);
            if (done(members))
            {
                return members;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for {what}; the cluster is as `synod member list` shows (nothing was undone)");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    public static async Task Print(bool json, string text, SynodMembers members) =>
        await Console.Out.WriteLineAsync(json
            ? JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["step"] = text,
                ["revision"] = members.Revision,
                ["effective_from"] = members.EffectiveFrom,
                ["members"] = members.Members.Select(m => MemberJson(m, members)),
            })
            : text);

    /// <summary>ID or ID=HOST:PORT.</summary>
    private static (int Id, string Endpoint) ParseTarget(string text, bool needsEndpoint)
    {
        var parts = text.Split('=', 2);
        if (!int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id < 1)
        {
            throw new ClientInputException($"'{text}' does not start with a replica id (a number from 1); give {(needsEndpoint ? "ID=HOST:PORT" : "ID")}");
        }

        if (needsEndpoint && (parts.Length < 2 || !Synod.Protocol.HostPort.TryParse(parts[1], out _, out _, out var problem)))
        {
            throw new ClientInputException($"'{text}' needs the new replica's endpoint: ID=HOST:PORT");
        }

        return (id, parts.Length > 1 ? parts[1] : "");
    }
}
