using System.CommandLine;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Synod.Client;
using Synod.Protocol;

namespace Synod.Cli;

/// <summary>
/// `synod auth`, `synod user` and `synod role` (docs/security.md, "Users and roles"), with etcdctl's habits: users hold
/// roles, roles hold read, write or readwrite permissions on a key, a prefix or a range, and the built-in root role may
/// do everything. Changes go through the log; while authentication is on only root may make them (give --user root).
/// </summary>
internal static class AuthCommands
{
    public static Command Auth()
    {
        var command = new Command("auth", "Turn authentication on or off, or see whether it is on.");
        command.Subcommands.Add(Change("enable", "Turn authentication on: every request then needs a user (--user, or a client certificate). A user named root must exist; it gets the root role.",
            AuthChangeKind.AuthEnable, _ => "Authentication Enabled"));
        command.Subcommands.Add(Change("disable", "Turn authentication off: everyone may do everything again. Users and roles are kept.",
            AuthChangeKind.AuthDisable, _ => "Authentication Disabled"));
        command.Subcommands.Add(Change("rotate-token-key", "Draw a new key for signing tokens (root only while authentication is on): every token made before stops working, and clients sign in again (the client library does so by itself). Use it when a data directory or backup may have been read.",
            AuthChangeKind.AuthRotateTokenKey, _ => "Token key rotated"));
        command.Subcommands.Add(Status());
        return command;
    }

    public static Command User()
    {
        var command = new Command("user", "Add, delete and list users, set their passwords, and grant or revoke their roles.");
        command.Subcommands.Add(UserAdd());
        command.Subcommands.Add(Change("delete", "Delete user NAME.", AuthChangeKind.UserDelete, names => $"User {names[0]} deleted", "name"));
        command.Subcommands.Add(UserPassword());
        command.Subcommands.Add(Change("grant-role", "Grant user NAME role ROLE.", AuthChangeKind.UserGrantRole, names => $"Role {names[1]} is granted to user {names[0]}", "name", "role"));
        command.Subcommands.Add(Change("revoke-role", "Revoke role ROLE from user NAME.", AuthChangeKind.UserRevokeRole, names => $"Role {names[1]} is revoked from user {names[0]}", "name", "role"));
        command.Subcommands.Add(List("list", "List the users (root only while authentication is on).", users: true));
        command.Subcommands.Add(Get("get", "Show user NAME and its roles.", users: true));
        return command;
    }

    public static Command Role()
    {
        var command = new Command("role", "Add, delete and list roles, and grant or revoke their permissions on keys.");
        command.Subcommands.Add(Change("add", "Add role NAME, with no permissions.", AuthChangeKind.RoleAdd, names => $"Role {names[0]} created", "role"));
        command.Subcommands.Add(Change("delete", "Delete role NAME; its users lose it.", AuthChangeKind.RoleDelete, names => $"Role {names[0]} deleted", "role"));
        command.Subcommands.Add(Permission(grant: true));
        command.Subcommands.Add(Permission(grant: false));
        command.Subcommands.Add(List("list", "List the roles (root only while authentication is on).", users: false));
        command.Subcommands.Add(Get("get", "Show role NAME and its permissions.", users: false));
        return command;
    }

    /// <summary>A change named by its arguments alone (enable, disable, delete, grant-role, add role, ...).</summary>
    private static Command Change(string name, string description, AuthChangeKind kind, Func<string[], string> done, params string[] arguments)
    {
        var args = arguments.Select(a => new Argument<string>(a) { Description = a == "role" ? "The role's name." : "The user's name." }).ToArray();
        var json = ClientCommands.JsonOption("{\"ok\": true}");
        var shared = new ClientCommandOptions();
        var command = new Command(name, description) { json };
        foreach (var arg in args)
        {
            command.Add(arg);
        }

        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var values = args.Select(a => parse.GetValue(a)!).ToArray();
            var userName = kind is AuthChangeKind.UserDelete or AuthChangeKind.UserGrantRole or AuthChangeKind.UserRevokeRole ? values[0] : "";
            var role = kind is AuthChangeKind.UserGrantRole or AuthChangeKind.UserRevokeRole ? values[1] : kind is AuthChangeKind.RoleAdd or AuthChangeKind.RoleDelete ? values[0] : "";
            await client.ChangeAuthAsync(kind, userName, role, options: options, cancellationToken: cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json) ? "{\"ok\": true}" : done(values));
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command UserAdd()
    {
        var name = new Argument<string>("name") { Description = "The user's name (a client certificate whose common name is this signs in as it too)." };
        var password = new Option<string?>("--password") { Description = "The password (asked for twice when missing and stdin is a terminal)." };
        var noPassword = new Option<bool>("--no-password") { Description = "No password: the user signs in with a client certificate only." };
        var json = ClientCommands.JsonOption("{\"ok\": true}");
        var shared = new ClientCommandOptions();
        var command = new Command("add", "Add user NAME with a password (stored as a salted slow hash) or, with --no-password, for a client certificate only.") { name, password, noPassword, json };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var user = parse.GetValue(name)!;
            var secret = parse.GetValue(noPassword) ? null : parse.GetValue(password) ?? AskTwice(user);
            await client.ChangeAuthAsync(AuthChangeKind.UserAdd, user, password: secret, noPassword: secret is null, options: options, cancellationToken: cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json) ? "{\"ok\": true}" : $"User {user} created");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command UserPassword()
    {
        var name = new Argument<string>("name") { Description = "The user's name." };
        var password = new Option<string?>("--password") { Description = "The new password (asked for twice when missing and stdin is a terminal)." };
        var json = ClientCommands.JsonOption("{\"ok\": true}");
        var shared = new ClientCommandOptions();
        var command = new Command("passwd", "Set user NAME's password; its tokens stop working.") { name, password, json };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var user = parse.GetValue(name)!;
            await client.ChangeAuthAsync(AuthChangeKind.UserPassword, user, password: parse.GetValue(password) ?? AskTwice(user), options: options, cancellationToken: cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json) ? "{\"ok\": true}" : "Password updated");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static string AskTwice(string user)
    {
        var first = UserFlag.Ask($"Password of {user}: ");
        var again = UserFlag.Ask($"Type password of {user} again for confirmation: ");
        return first == again ? first : throw new ClientInputException("the two passwords differ; nothing was changed.");
    }

    /// <summary>`role grant ROLE KIND KEY [END]` or `role revoke ROLE KEY [END]`, with --prefix or --from-key.</summary>
    private static Command Permission(bool grant)
    {
        var role = new Argument<string>("role") { Description = "The role's name." };
        var kind = new Argument<string>("kind") { Description = "read, write or readwrite." };
        var key = new Argument<string>("key") { Description = "The key (UTF-8); with --prefix, the prefix; with an end, the range's start." };
        var end = new Argument<string?>("end") { Description = "The end of the range [key, end), not included.", Arity = ArgumentArity.ZeroOrOne };
        var prefix = new Option<bool>("--prefix") { Description = "Every key that begins with KEY (every key for \"\")." };
        var fromKey = new Option<bool>("--from-key") { Description = "Every key from KEY on." };
        var json = ClientCommands.JsonOption("{\"ok\": true}");
        var shared = new ClientCommandOptions();
        var command = grant
            ? new Command("grant", "Grant ROLE read, write or readwrite on one key, a prefix (--prefix), a range [KEY, END) or every key from KEY on (--from-key); granting the same keys again replaces the kind.") { role, kind, key, end, prefix, fromKey, json }
            : new Command("revoke", "Revoke ROLE's permission on exactly the keys a grant named.") { role, key, end, prefix, fromKey, json };
        shared.AddTo(command, withNode: false, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var permission = PermissionOf(grant ? parse.GetValue(kind)! : "readwrite", parse.GetValue(key)!, parse.GetValue(end), parse.GetValue(prefix), parse.GetValue(fromKey));
            var name = parse.GetValue(role)!;
            await client.ChangeAuthAsync(grant ? AuthChangeKind.RoleGrant : AuthChangeKind.RoleRevoke, role: name, permission: permission, options: options, cancellationToken: cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json) ? "{\"ok\": true}"
                : grant ? $"Role {name} updated: {Describe(permission)}" : $"Permission on {Describe(permission, withKind: false)} revoked from role {name}");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Protocol.Permission PermissionOf(string kindText, string key, string? end, bool prefix, bool fromKey)
    {
        var kind = kindText.ToLowerInvariant() switch
        {
            "read" => PermissionKind.Read,
            "write" => PermissionKind.Write,
            "readwrite" => PermissionKind.Readwrite,
            _ => throw new ClientInputException($"permission kind '{kindText}' is none of read, write or readwrite."),
        };
        if ((prefix ? 1 : 0) + (fromKey ? 1 : 0) + (end is null ? 0 : 1) > 1)
        {
            throw new ClientInputException("give at most one of --prefix, --from-key and an end key.");
        }

        var from = Encoding.UTF8.GetBytes(key);
        if (from.Length == 0 && !prefix && !fromKey)
        {
            throw new ClientInputException("the key is empty; give a key, or \"\" with --prefix or --from-key for every key.");
        }

        byte[] to = prefix ? PrefixEnd(from) : fromKey ? [] : end is not null ? Encoding.UTF8.GetBytes(end) : [.. from, 0];
        if (to.Length != 0 && to.AsSpan().SequenceCompareTo(from) <= 0)
        {
            throw new ClientInputException($"the end '{end}' is not after the key '{key}'.");
        }

        return new Protocol.Permission { Kind = kind, From = ByteString.CopyFrom(from), To = ByteString.CopyFrom(to) };
    }

    /// <summary>The first key after every key that begins with <paramref name="prefix"/>; empty when there is none (all 0xFF, or empty).</summary>
    private static byte[] PrefixEnd(byte[] prefix) => SynodRange.Prefix(prefix).To.ToArray();

    private static string Describe(Protocol.Permission permission, bool withKind = true)
    {
        var from = permission.From.ToByteArray();
        var to = permission.To.ToByteArray();
        var kind = withKind ? permission.Kind switch { PermissionKind.Read => "read ", PermissionKind.Write => "write ", _ => "readwrite " } : "";
        string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
        return to.Length == from.Length + 1 && to[^1] == 0 && to.AsSpan(0, from.Length).SequenceEqual(from) ? $"{kind}key {Text(from)}"
            : to.Length == 0 ? $"{kind}keys from {Text(from)} on"
            : to.AsSpan().SequenceEqual(PrefixEnd(from)) ? $"{kind}prefix {Text(from)}"
            : $"{kind}range [{Text(from)}, {Text(to)})";
    }

    private static Command Status()
    {
        var json = ClientCommands.JsonOption("{\"enabled\": BOOL, \"user\": NAME}");
        var shared = new ClientCommandOptions();
        var command = new Command("status", "Say whether authentication is on, and as whom this command signed in.") { json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var status = await client.AuthStatusAsync(options, cancellationToken);
            await Console.Out.WriteLineAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(new Dictionary<string, object> { ["enabled"] = status.Enabled, ["user"] = status.User })
                : $"Authentication Status: {(status.Enabled ? "true" : "false")}{(status.User.Length == 0 ? "" : $"\nUser: {status.User}")}");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command List(string name, string description, bool users)
    {
        var json = ClientCommands.JsonOption(users ? "[{\"name\", \"roles\", \"hasPassword\"}]" : "[{\"name\", \"permissions\"}]");
        var shared = new ClientCommandOptions();
        var command = new Command(name, description) { json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var status = await ListableStatusAsync(client, options, cancellationToken);
            if (parse.GetValue(json))
            {
                await Console.Out.WriteLineAsync(users ? JsonSerializer.Serialize(status.Users.Select(UserJson)) : JsonSerializer.Serialize(status.Roles.Select(RoleJson)));
            }
            else
            {
                foreach (var line in users ? status.Users.Select(u => u.Name) : status.Roles.Select(r => r.Name))
                {
                    await Console.Out.WriteLineAsync(line);
                }
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command Get(string name, string description, bool users)
    {
        var subject = new Argument<string>("name") { Description = users ? "The user's name." : "The role's name." };
        var json = ClientCommands.JsonOption(users ? "{\"name\", \"roles\", \"hasPassword\"}" : "{\"name\", \"permissions\"}");
        var shared = new ClientCommandOptions();
        var command = new Command(name, description) { subject, json };
        shared.AddTo(command, withNode: true, withTimeout: true);
        command.SetAction((parse, cancellationToken) => ClientCommands.Run(parse, shared, async (_, client, options) =>
        {
            var status = await ListableStatusAsync(client, options, cancellationToken);
            var wanted = parse.GetValue(subject)!;
            if (users)
            {
                var user = status.Users.FirstOrDefault(u => u.Name == wanted)
                    ?? throw new SynodNotFoundException(Encoding.UTF8.GetBytes(wanted), $"user '{wanted}' does not exist.");
                await Console.Out.WriteLineAsync(parse.GetValue(json) ? JsonSerializer.Serialize(UserJson(user)) : $"User: {user.Name}\nRoles: {string.Join(" ", user.Roles)}");
            }
            else
            {
                var role = status.Roles.FirstOrDefault(r => r.Name == wanted)
                    ?? throw new SynodNotFoundException(Encoding.UTF8.GetBytes(wanted), $"role '{wanted}' does not exist.");
                var lines = role.Name == "root" ? ["readwrite every key"] : role.Permissions.Select(p => Describe(p)).ToList();
                await Console.Out.WriteLineAsync(parse.GetValue(json) ? JsonSerializer.Serialize(RoleJson(role)) : $"Role {role.Name}\n{string.Join("\n", lines.Select(l => "\t" + l))}");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>The status with users and roles; the replicas list them for root only (or anyone while authentication is off).</summary>
    private static async Task<AuthStatusResponse> ListableStatusAsync(SynodClient client, SynodCallOptions? options, CancellationToken cancellationToken)
    {
        var status = await client.AuthStatusAsync(options, cancellationToken);
        return status.Enabled && status.Roles.Count == 0
            ? throw new SynodPermissionDeniedException(status.User.Length == 0
                ? "authentication is on and this command names no user; users and roles are listed for root only: give --user root."
                : $"user '{status.User}' may not list users and roles: only a user with the root role may.")
            : status;
    }

    private static Dictionary<string, object> UserJson(AuthUser user) =>
        new() { ["name"] = user.Name, ["roles"] = user.Roles.ToArray(), ["hasPassword"] = user.HasPassword };

    private static Dictionary<string, object> RoleJson(AuthRole role) => new()
    {
        ["name"] = role.Name,
        ["permissions"] = role.Permissions.Select(p => new Dictionary<string, object>
        {
            ["kind"] = p.Kind.ToString().ToLowerInvariant(),
            ["from"] = p.From.ToStringUtf8(),
            ["to"] = p.To.ToStringUtf8(),
        }).ToArray(),
    };
}
