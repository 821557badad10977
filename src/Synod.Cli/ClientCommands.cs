using System.CommandLine;

namespace Synod.Cli;

/// <summary>
/// The client commands of `synod`: put, get, delete and status. They find the cluster through --endpoints,
/// else DATA_DIR/cluster.json, else 127.0.0.1:7001..7005, and report each kind of failure with one
/// "error: ..." line on stderr and its own exit code (<see cref="ExitCodes"/>).
/// </summary>
public static class ClientCommands
{
    public static IEnumerable<Command> All() => [Put(), Get(), Range(), Txn(), Delete(), Watch(), Compact(), Status(), LeaseCommands.Lease(), LeaseCommands.Lock(), LeaseCommands.Elect(), MemberCommands.Member(), AuthCommands.Auth(), AuthCommands.User(), AuthCommands.Role(), SnapshotCommands.Snapshot()];

    private static Command Watch()
    {
        var key = new Argument<string?>("key") { Description = "The key to watch (UTF-8); or give --prefix.", Arity = ArgumentArity.ZeroOrOne };
        var prefix = new Option<string?>("--prefix") { Description = "Watch every key that begins with P." };
        var fromRev = new Option<long>("--from-rev") { Description = "Report changes from revision R on (default: from the next change). Exit 3 if R has been compacted." };
        var prevValue = new Option<bool>("--prev-value") { Description = "Print each key's value before the change too." };
        var progress = new Option<bool>("--progress") { Description = "Print PROGRESS and the revision when the watch is idle (every serve --watch-progress-interval)." };
        var maxEvents = new Option<long>("--max-events") { Description = "Stop after N changes (default: until Ctrl+C)." };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object per line: {\"type\": \"put\"|\"delete\"|\"progress\", \"key\", \"value\", \"revision\", \"create_revision\", \"mod_revision\", \"version\"}.",
        };
        var shared = new ClientCommandOptions();
        var command = new Command(
            "watch",
            "Print every change of KEY or of the keys under --prefix as it is applied, in revision order, until Ctrl+C; if the replica serving it dies, the watch goes on at another one without missing or repeating a change.")
        {
            key, prefix, fromRev, prevValue, progress, maxEvents, json,
        };
        shared.AddTo(command, withNode: false, withTimeout: false);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, _) =>
            WatchActions.RunAsync(
                client,
                WatchActions.Parse(parse.GetValue(key), parse.GetValue(prefix)),
                new Client.SynodWatchOptions { StartRevision = parse.GetValue(fromRev), PrevKv = parse.GetValue(prevValue), ProgressNotify = parse.GetValue(progress) },
                parse.GetValue(maxEvents),
                parse.GetValue(json),
                cancellationToken), cancellationToken));
        return command;
    }

    private static Option<long> RevisionOption() => new("--rev")
    {
        Description = "Read as of revision R, within the history the replicas keep (default: now). Exit 3 if R has been compacted, naming the oldest revision kept.",
    };

    private static Command Compact()
    {
        var revision = new Argument<long>("revision") { Description = "The revision that becomes the oldest kept: reads and watches before it fail from then on." };
        var json = JsonOption("{\"compact_revision\"} instead of the sentence");
        var shared = new ClientCommandOptions();
        var command = new Command("compact", "Discard the history before REVISION on every replica, through the log; prints the oldest revision kept.") { revision, json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
            ClientActions.CompactAsync(client, options, parse.GetValue(revision), parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    private static Command Put()
    {
        var key = new Argument<string>("key") { Description = "The key (UTF-8, 1 to 1024 bytes)." };
        var value = new Argument<string>("value") { Description = "The value (UTF-8, up to 1 MiB)." };
        var conditions = new WriteConditionOptions(withAbsent: true);
        var json = JsonOption("{\"key\", \"revision\", \"create_revision\", \"mod_revision\", \"version\", \"duplicate\"} instead of OK");
        var lease = new Option<long>("--lease") { Description = "Attach the key to lease ID (from synod lease grant): it is deleted when the lease ends. Exit 3 if the lease does not exist." };
        var shared = new ClientCommandOptions();
        var command = new Command(
            "put",
            "Set KEY to VALUE, exactly once however often it is retried; prints OK. With a condition (--if-...), only if it holds when the write is applied; exit 7 if not.")
        {
            key, value, json, lease,
        };
        conditions.AddTo(command);
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
            ClientActions.PutAsync(
                client, options, parse.GetValue(key)!, parse.GetValue(value)!, conditions.Parse(parse), parse.GetValue(json), cancellationToken, parse.GetValue(lease)), cancellationToken));
        return command;
    }

    private static Command Get()
    {
        var key = new Argument<string>("key") { Description = "The key (UTF-8)." };
        var stale = new Option<bool>("--stale")
        {
            Description = "Answer from the contacted replica at once, without confirming it is current; says on stderr how far behind it may be.",
        };
        var json = JsonOption("{\"key\", \"value\", \"create_revision\", \"mod_revision\", \"version\", \"revision\"} instead of the bare value");
        var shared = new ClientCommandOptions();
        var revision = RevisionOption();
        var command = new Command("get", "Print the value of KEY; exit 3 if it has none.") { key, stale, revision, json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (context, client, options) =>
            ClientActions.GetAsync(
                context, client, options, parse.GetValue(key)!, parse.GetValue(stale), parse.GetValue(revision), parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    private static Command Range()
    {
        var prefix = new Option<string?>("--prefix") { Description = "Every key that begins with P (UTF-8)." };
        var from = new Option<string?>("--from") { Description = "The first key of the range [A, B) (UTF-8)." };
        var to = new Option<string?>("--to") { Description = "The end of the range [A, B), not included; leave it out for every key from A on." };
        var limit = new Option<long>("--limit") { Description = "At most N keys (default: all, read in pages of at most 10,000 keys or 4 MiB)." };
        var keysOnly = new Option<bool>("--keys-only") { Description = "Print the keys only." };
        var countOnly = new Option<bool>("--count-only") { Description = "Print only how many keys the range holds." };
        var stale = new Option<bool>("--stale") { Description = "Answer from the contacted replica at once, without confirming it is current." };
        var revision = RevisionOption();
        var json = JsonOption("{\"kvs\": [{\"key\", \"value\", \"create_revision\", \"mod_revision\", \"version\"}], \"more\", \"count\", \"revision\"}");
        var shared = new ClientCommandOptions();
        var command = new Command("range", "Print the keys of a prefix or of a range [A, B) in bytewise order, each key then its value on the next line.")
        {
            prefix, from, to, limit, keysOnly, countOnly, stale, revision, json,
        };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
        {
            var request = RangeActions.Parse(
                parse.GetValue(prefix), parse.GetValue(from), parse.GetValue(to), parse.GetValue(limit), parse.GetValue(keysOnly), parse.GetValue(countOnly))
                with { Revision = parse.GetValue(revision) };
            return RangeActions.RunAsync(client, options, request, parse.GetValue(stale), parse.GetValue(json), cancellationToken);
        }, cancellationToken));
        return command;
    }

    private static Command Txn()
    {
        var file = new Argument<string?>("file") { Description = "The transaction as JSON (docs/api.md); - or nothing: read stdin.", Arity = ArgumentArity.ZeroOrOne };
        var json = JsonOption("{\"succeeded\", \"revision\", \"duplicate\", \"results\": [...]}");
        var shared = new ClientCommandOptions();
        var command = new Command(
            "txn",
            "Apply a transaction read as JSON: if every compare holds, the success operations, else the failure ones, at one revision; prints SUCCESS or FAILURE and each result.")
        {
            file, json,
        };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
            TxnActions.RunAsync(TxnActions.Parse(client, TxnActions.ReadText(parse.GetValue(file))), options, parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    private static Command Delete()
    {
        var key = new Argument<string>("key") { Description = "The key (UTF-8)." };
        var conditions = new WriteConditionOptions(withAbsent: false);
        var json = JsonOption("{\"key\", \"existed\", \"revision\"} instead of deleted");
        var shared = new ClientCommandOptions();
        var command = new Command(
            "delete",
            "Remove KEY, exactly once; prints deleted, or exits 3 if it was absent. With a condition (--if-...), only if it holds when the delete is applied; exit 7 if not.")
        {
            key, json,
        };
        conditions.AddTo(command);
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (_, client, options) =>
            ClientActions.DeleteAsync(client, options, parse.GetValue(key)!, conditions.Parse(parse), parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    internal static Option<bool> JsonOption(string what) => new("--json") { Description = $"Print one JSON object, {what}." };

    private static Command Status()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array, one object per replica, instead of a table." };
        var watch = new Option<bool>("--watch")
        {
            Description = "Refresh the table in place every second, like top, until Ctrl-C (with --json: one array per line, every second).",
        };
        var shared = new ClientCommandOptions();
        var command = new Command("status", "Show every replica: up or down, role, ballot, commit and applied slots, lag, pid, leader.") { json, watch };
        shared.AddTo(command, withNode: false, withTimeout: false);
        command.SetAction((parse, cancellationToken) => Run(parse, shared, (context, client, _) => parse.GetValue(watch)
            ? StatusAction.WatchAsync(context, client, parse.GetValue(json), cancellationToken)
            : StatusAction.RunAsync(context, client, parse.GetValue(json), cancellationToken), cancellationToken));
        return command;
    }

    internal static Task<int> Run(
        ParseResult parse,
        ClientCommandOptions shared,
        Func<ClientCommandContext, Client.SynodClient, Client.SynodCallOptions?, Task<int>> body,
        CancellationToken cancellationToken) =>
        ClientCommandRun.RunAsync(
            parse.GetValue(shared.Endpoints),
            parse.GetValue(shared.DataDir),
            new ClientTlsFlags(parse.GetValue(shared.CaCert), parse.GetValue(shared.Cert), parse.GetValue(shared.Key)),
            parse.GetValue(shared.Node),
            parse.GetValue(shared.Timeout),
            body,
            cancellationToken,
            parse.GetValue(shared.User),
            parse.GetValue(shared.PasswordFile));
}
