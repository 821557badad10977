using System.Collections.Immutable;
using System.Text;

namespace Synod.Kv;

/// <summary>What a permission allows on its keys.</summary>
public enum KvPermissionKind : byte
{
    Read = 1,
    Write = 2,
    ReadWrite = 3,
}

/// <summary>
/// A role's permission on the keys in [<paramref name="From"/>, <paramref name="To"/>) (an empty <paramref name="To"/>:
/// every key from <paramref name="From"/> on). One key k is the range [k, k + 0x00); a prefix p is [p, PrefixEnd(p)).
/// </summary>
public sealed record KvPermission(KvPermissionKind Kind, byte[] From, byte[] To)
{
    /// <summary>The permission on the one key <paramref name="key"/>.</summary>
    public static KvPermission OnKey(KvPermissionKind kind, byte[] key) => new(kind, key, [.. key, 0]);

    /// <summary>The permission on every key that begins with <paramref name="prefix"/> (every key for an empty prefix).</summary>
    public static KvPermission OnPrefix(KvPermissionKind kind, byte[] prefix) => new(kind, prefix, KvRange.PrefixEnd(prefix));

    public bool Allows(bool write) => (Kind & (write ? KvPermissionKind.Write : KvPermissionKind.Read)) != 0;

    /// <summary>Whether both name the same keys (a revoke names the keys, whatever the kind).</summary>
    public bool SameKeys(KvPermission other) => From.AsSpan().SequenceEqual(other.From) && To.AsSpan().SequenceEqual(other.To);

    public bool Equals(KvPermission? other) => other is not null && Kind == other.Kind && SameKeys(other);

    public override int GetHashCode() => HashCode.Combine(Kind, From.Length, To.Length);

    /// <summary>"readwrite key 'a'", "read prefix 'app/'", "write range ['a', 'c')", for errors and listings.</summary>
    public override string ToString()
    {
        var kind = Kind switch { KvPermissionKind.Read => "read", KvPermissionKind.Write => "write", _ => "readwrite" };
        if (To.Length == From.Length + 1 && To[^1] == 0 && To.AsSpan(0, From.Length).SequenceEqual(From))
        {
            return $"{kind} key '{Text(From)}'";
        }

        return To.AsSpan().SequenceEqual(KvRange.PrefixEnd(From)) ? $"{kind} prefix '{Text(From)}'" : $"{kind} range ['{Text(From)}', '{Text(To)}')";
    }

    internal static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}

/// <summary>A user: the password's hash (made by the server; empty: no password, a client certificate only) and the roles granted.</summary>
/// <param name="Generation">
/// The slot that added the user or last set its password: a token names the generation it was issued for, so a password
/// change, or the user deleted and added again under its name, retires the tokens made before.
/// </param>
public sealed record KvUser(string Name, byte[] PasswordHash, ImmutableSortedSet<string> Roles, long Generation);

/// <summary>A role and its permissions, in the order they were granted.</summary>
public sealed record KvRole(string Name, ImmutableList<KvPermission> Permissions);

/// <summary>
/// Users, roles and whether authentication is on: replicated through the log like the data (<see cref="KvOperation.Auth"/>),
/// so every replica checks a request against the same rules at the same point of the log. Immutable: a change returns a
/// new one, so a snapshot under way keeps the one it began with. The role <see cref="RootRole"/> always exists, may do
/// everything, and alone may change users, roles and authentication, membership and compaction while authentication is on.
/// </summary>
public sealed class KvAuth
{
    public const string RootRole = "root";
    public const string RootUser = "root";

    public static readonly KvAuth Empty = new(false, [], ImmutableSortedDictionary.Create<string, KvUser>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<string, KvRole>(StringComparer.Ordinal));

    private KvAuth(bool enabled, byte[] tokenKey, ImmutableSortedDictionary<string, KvUser> users, ImmutableSortedDictionary<string, KvRole> roles)
    {
        Enabled = enabled;
        TokenKey = tokenKey;
        Users = users;
        Roles = roles;
    }

    /// <summary>Whether requests are checked; while it is off, everyone may do everything.</summary>
    public bool Enabled { get; }

    /// <summary>The key that signs tokens, drawn by the replica that proposed the last enable: a token is good at every replica.</summary>
    public byte[] TokenKey { get; }

    public ImmutableSortedDictionary<string, KvUser> Users { get; }

    /// <summary>The roles added (<see cref="RootRole"/> is not among them: it is built in).</summary>
    public ImmutableSortedDictionary<string, KvRole> Roles { get; }

    /// <summary>True when nothing was ever set: a snapshot then leaves auth out, as builds before auth wrote it.</summary>
    public bool IsEmpty => !Enabled && TokenKey.Length == 0 && Users.IsEmpty && Roles.IsEmpty;

    /// <summary>Whether <paramref name="user"/> may do everything (auth off, or the user has the root role).</summary>
    public bool IsRoot(string? user) =>
        !Enabled || (user is not null && Users.TryGetValue(user, out var found) && found.Roles.Contains(RootRole));

    /// <summary>
    /// Whether <paramref name="user"/> may read (or write) every key in [<paramref name="from"/>, <paramref name="to"/>)
    /// (an empty <paramref name="to"/>: every key from <paramref name="from"/> on): the union of the permissions of its
    /// roles must cover the whole range. Always true while auth is off; never for a user that does not exist.
    /// </summary>
    public bool Allows(string? user, byte[] from, byte[] to, bool write)
    {
        if (!Enabled)
        {
            return true;
        }

        if (user is null || !Users.TryGetValue(user, out var found))
        {
            return false;
        }

        if (found.Roles.Contains(RootRole))
        {
            return true;
        }

        var granted = _grants.GetOrAdd((found.Name, write), key => Grants(key.User, key.Write));
        var covered = from;
        foreach (var permission in granted)
        {
            if (permission.From.AsSpan().SequenceCompareTo(covered) > 0)
            {
                return false;
            }

            if (permission.To.Length == 0)
            {
                return true;
            }

            if (permission.To.AsSpan().SequenceCompareTo(covered) > 0)
            {
                covered = permission.To;
            }

            if (to.Length != 0 && covered.AsSpan().SequenceCompareTo(to) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Each user's permissions of one kind, ordered by their start, made once per user and kind for this (immutable)
    /// state: a check walks them instead of sorting up to 10,000 grants again (every command of a user is checked).
    /// Shared by the owner loop and the server's request threads.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string User, bool Write), KvPermission[]> _grants = new();

    private KvPermission[] Grants(string user, bool write) =>
        [.. Users[user].Roles
            .SelectMany(role => Roles.TryGetValue(role, out var r) ? r.Permissions : Enumerable.Empty<KvPermission>())
            .Where(p => p.Allows(write))
            .OrderBy(p => p.From, ByteArrayComparer.Instance)];

    /// <summary>
    /// The sentence for a refusal of <paramref name="operation"/> ("read the range ['a', 'b')") to
    /// <paramref name="user"/>, with <paramref name="why"/> or the usual reason: the same words wherever it is refused.
    /// </summary>
    public static string DenialText(string? user, string operation, string? why = null) => user is null
        ? $"authentication is on and the request names no user, so it may not {operation}; give --user NAME (or a client certificate whose common name is a user)."
        : $"user '{user}' may not {operation}: {why ?? "none of its roles grants it"}. A root user can grant it (synod role grant, synod user grant-role).";

    /// <summary>How a key appears in errors: its UTF-8 text, or its length when it is not text.</summary>
    public static string KeyText(byte[] key)
    {
        var text = Encoding.UTF8.GetString(key);
        return key.Length <= 128 && !text.Any(char.IsControl) ? $"'{text}'" : $"a {key.Length}-byte key";
    }

    /// <summary>How a range [from, to) appears in errors: "every key", "the keys from 'a' on", "the range ['a', 'b')".</summary>
    public static string RangeText(byte[] from, byte[] to) =>
        from.Length == 0 && to.Length == 0 ? "every key"
        : to.Length == 0 ? $"the keys from {KeyText(from)} on"
        : $"the range [{KeyText(from)}, {KeyText(to)})";

    /// <summary>Whether <paramref name="user"/> may read (or write) <paramref name="key"/>.</summary>
    public bool Allows(string? user, byte[] key, bool write) => !Enabled || Allows(user, key, [.. key, 0], write);

    /// <summary>
    /// Applies <paramref name="change"/> made by <paramref name="by"/> (the authenticated user of the command, if any) at
    /// <paramref name="slot"/>: only a root user may change anything while auth is on. Returns the status and the auth
    /// after it (unchanged unless Ok).
    /// </summary>
    public (KvStatus Status, KvAuth After) Apply(KvAuthChange change, string? by, long slot)
    {
        if (!IsRoot(by))
        {
            return (KvStatus.PermissionDenied, this);
        }

        switch (change.Kind)
        {
            case KvAuthChangeKind.Enable:
                if (!Users.TryGetValue(RootUser, out var root))
                {
                    return (KvStatus.AuthRootRequired, this);
                }

                // As etcd does: the root user gets the root role on enable, so no one is locked out.
                var users = root.Roles.Contains(RootRole) ? Users : Users.SetItem(RootUser, root with { Roles = root.Roles.Add(RootRole) });
                return (KvStatus.Ok, new KvAuth(true, change.Secret, users, Roles));
            case KvAuthChangeKind.Disable:
                // The key goes with it: a token made before can never work again, even once authentication is back on.
                return (KvStatus.Ok, new KvAuth(false, [], Users, Roles));
            case KvAuthChangeKind.RotateTokenKey:
                return (KvStatus.Ok, new KvAuth(Enabled, change.Secret, Users, Roles));
            case KvAuthChangeKind.UserAdd:
                if (Users.ContainsKey(change.Name))
                {
                    return (KvStatus.AuthExists, this);
                }

                if (Users.Count >= KvLimits.UsersMax)
                {
                    return (KvStatus.AuthFull, this);
                }

                return (KvStatus.Ok, With(Users.Add(change.Name, new KvUser(change.Name, change.Secret, ImmutableSortedSet.Create<string>(StringComparer.Ordinal), slot)), Roles));
            case KvAuthChangeKind.UserDelete:
                if (!Users.ContainsKey(change.Name))
                {
                    return (KvStatus.NotFound, this);
                }

                return change.Name == RootUser && Enabled ? (KvStatus.AuthRootRequired, this) : (KvStatus.Ok, With(Users.Remove(change.Name), Roles));
            case KvAuthChangeKind.UserPassword:
                return Users.TryGetValue(change.Name, out var user)
                    ? (KvStatus.Ok, With(Users.SetItem(change.Name, user with { PasswordHash = change.Secret, Generation = slot }), Roles))
                    : (KvStatus.NotFound, this);
            case KvAuthChangeKind.UserGrantRole:
                if (!Users.TryGetValue(change.Name, out var grantee) || (change.Role != RootRole && !Roles.ContainsKey(change.Role)))
                {
                    return (KvStatus.NotFound, this);
                }

                if (!grantee.Roles.Contains(change.Role) && grantee.Roles.Count >= KvLimits.RolesPerUserMax)
                {
                    return (KvStatus.AuthFull, this);
                }

                return (KvStatus.Ok, With(Users.SetItem(change.Name, grantee with { Roles = grantee.Roles.Add(change.Role) }), Roles));
            case KvAuthChangeKind.UserRevokeRole:
                if (!Users.TryGetValue(change.Name, out var holder) || !holder.Roles.Contains(change.Role))
                {
                    return (KvStatus.NotFound, this);
                }

                return change.Name == RootUser && change.Role == RootRole && Enabled
                    ? (KvStatus.AuthRootRequired, this)
                    : (KvStatus.Ok, With(Users.SetItem(change.Name, holder with { Roles = holder.Roles.Remove(change.Role) }), Roles));
            case KvAuthChangeKind.RoleAdd:
                if (change.Role == RootRole || Roles.ContainsKey(change.Role))
                {
                    return (KvStatus.AuthExists, this);
                }

                return Roles.Count >= KvLimits.RolesMax
                    ? (KvStatus.AuthFull, this)
                    : (KvStatus.Ok, With(Users, Roles.Add(change.Role, new KvRole(change.Role, []))));
            case KvAuthChangeKind.RoleDelete:
                if (!Roles.ContainsKey(change.Role))
                {
                    return (KvStatus.NotFound, this);
                }

                // Users keep no grant of a role that is gone, so a role added later under the name grants nothing by surprise.
                var without = Users;
                foreach (var (name, u) in Users.Where(u => u.Value.Roles.Contains(change.Role)))
                {
                    without = without.SetItem(name, u with { Roles = u.Roles.Remove(change.Role) });
                }

                return (KvStatus.Ok, With(without, Roles.Remove(change.Role)));
            case KvAuthChangeKind.RoleGrant:
                if (!Roles.TryGetValue(change.Role, out var role))
                {
                    return (KvStatus.NotFound, this);
                }

                // Granting the same keys again replaces the kind (etcd's habit).
                var kept = role.Permissions.RemoveAll(p => p.SameKeys(change.Permission!));
                var total = Roles.Values.Sum(r => r.Permissions.Count) - (role.Permissions.Count - kept.Count);
                return kept.Count >= KvLimits.PermissionsPerRoleMax || total >= KvLimits.PermissionsMax
                    ? (KvStatus.AuthFull, this)
                    : (KvStatus.Ok, With(Users, Roles.SetItem(change.Role, role with { Permissions = kept.Add(change.Permission!) })));
            case KvAuthChangeKind.RoleRevoke:
                if (!Roles.TryGetValue(change.Role, out var revoked) || !revoked.Permissions.Exists(p => p.SameKeys(change.Permission!)))
                {
                    return (KvStatus.NotFound, this);
                }

                return (KvStatus.Ok, With(Users, Roles.SetItem(change.Role, revoked with { Permissions = revoked.Permissions.RemoveAll(p => p.SameKeys(change.Permission!)) })));
            default:
                // KvAuthChange.Decode admits only the kinds above.
                throw new InvalidOperationException($"Auth change {change.Kind} passed validation but has no implementation.");
        }
    }

    private KvAuth With(ImmutableSortedDictionary<string, KvUser> users, ImmutableSortedDictionary<string, KvRole> roles) =>
        new(Enabled, TokenKey, users, roles);

    /// <summary>
    /// The snapshot's encoding: enabled (1 byte), token key, users (name, hash, generation, roles), roles (name,
    /// permissions: kind, from, to), all length-prefixed and in name order.
    /// </summary>
    public byte[] Encode()
    {
        var output = new List<byte> { Enabled ? (byte)1 : (byte)0 };
        KvBytes.Append(output, TokenKey);
        KvBytes.AppendVarint(output, (ulong)Users.Count);
        foreach (var user in Users.Values)
        {
            KvBytes.Append(output, Encoding.UTF8.GetBytes(user.Name));
            KvBytes.Append(output, user.PasswordHash);
            KvBytes.AppendVarint(output, (ulong)user.Generation);
            KvBytes.AppendVarint(output, (ulong)user.Roles.Count);
            foreach (var role in user.Roles)
            {
                KvBytes.Append(output, Encoding.UTF8.GetBytes(role));
            }
        }

        KvBytes.AppendVarint(output, (ulong)Roles.Count);
        foreach (var role in Roles.Values)
        {
            KvBytes.Append(output, Encoding.UTF8.GetBytes(role.Name));
            KvBytes.AppendVarint(output, (ulong)role.Permissions.Count);
            foreach (var permission in role.Permissions)
            {
                output.Add((byte)permission.Kind);
                KvBytes.Append(output, permission.From);
                KvBytes.Append(output, permission.To);
            }
        }

        return [.. output];
    }

    /// <summary>Reads what <see cref="Encode"/> wrote, checking every name, count and limit.</summary>
    /// <exception cref="KvFormatException">Anything malformed or over a limit.</exception>
    internal static KvAuth Decode(ReadOnlySpan<byte> bytes)
    {
        var reader = new ByteReader(bytes, "auth state");
        var enabled = reader.ReadByte("auth enabled") switch
        {
            0 => false,
            1 => true,
            var flag => throw new KvFormatException($"The auth state has enabled flag {flag}; expected 0 or 1."),
        };
        var tokenKey = reader.ReadLengthPrefixed("token key", KvAuthChange.SecretBytesMax, nameof(KvAuthChange.SecretBytesMax)).ToArray();
        var userCount = ReadCount(ref reader, "user count", KvLimits.UsersMax);
        var users = ImmutableSortedDictionary.CreateBuilder<string, KvUser>(StringComparer.Ordinal);
        for (var i = 0; i < userCount; i++)
        {
            var name = KvAuthChange.ReadName(ref reader, "user name");
            var hash = reader.ReadLengthPrefixed("password hash", KvAuthChange.SecretBytesMax, nameof(KvAuthChange.SecretBytesMax)).ToArray();
            var generation = reader.ReadVarint("user generation");
            var roleCount = ReadCount(ref reader, "user role count", KvLimits.RolesPerUserMax);
            var roles = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
            for (var r = 0; r < roleCount; r++)
            {
                roles.Add(KvAuthChange.ReadName(ref reader, "user role"));
            }

            if (generation is 0 or > long.MaxValue || !users.TryAdd(name, new KvUser(name, hash, roles.ToImmutable(), (long)generation)))
            {
                throw new KvFormatException($"The auth state has user '{name}' twice or with generation {generation}.");
            }
        }

        var roleTotal = ReadCount(ref reader, "role count", KvLimits.RolesMax);
        var permissionsLeft = KvLimits.PermissionsMax;
        var allRoles = ImmutableSortedDictionary.CreateBuilder<string, KvRole>(StringComparer.Ordinal);
        for (var i = 0; i < roleTotal; i++)
        {
            var name = KvAuthChange.ReadName(ref reader, "role name");
            var permissionCount = ReadCount(ref reader, "permission count", Math.Min(KvLimits.PermissionsPerRoleMax, permissionsLeft));
            permissionsLeft -= permissionCount;
            var permissions = ImmutableList.CreateBuilder<KvPermission>();
            for (var p = 0; p < permissionCount; p++)
            {
                permissions.Add(KvAuthChange.ReadPermission(ref reader));
            }

            if (name == RootRole || !allRoles.TryAdd(name, new KvRole(name, permissions.ToImmutable())))
            {
                throw new KvFormatException($"The auth state has role '{name}' twice, or as a role of its own while it is built in.");
            }
        }

        reader.ExpectEnd();
        if (enabled && (!users.TryGetValue(RootUser, out var root) || !root.Roles.Contains(RootRole) || tokenKey.Length != KvAuthChange.TokenKeyBytes))
        {
            throw new KvFormatException($"The auth state is enabled without a root user holding the root role, or without a {KvAuthChange.TokenKeyBytes}-byte token key.");
        }

        return new KvAuth(enabled, tokenKey, users.ToImmutable(), allRoles.ToImmutable());
    }

    private static int ReadCount(ref ByteReader reader, string field, int max)
    {
        var count = reader.ReadVarint(field);
        return count > (ulong)max ? throw new KvFormatException($"The auth state has {field} {count}, over its limit ({max}).") : (int)count;
    }
}
