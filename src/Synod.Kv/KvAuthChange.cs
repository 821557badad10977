using System.Text;

namespace Synod.Kv;

/// <summary>What a <see cref="KvOperation.Auth"/> command changes.</summary>
public enum KvAuthChangeKind : byte
{
    /// <summary>Turns authentication on (a root user must exist); <see cref="KvAuthChange.Secret"/> is the new token key.</summary>
    Enable = 1,
    Disable = 2,

    /// <summary>Adds user <see cref="KvAuthChange.Name"/> with password hash <see cref="KvAuthChange.Secret"/> (empty: certificate only).</summary>
    UserAdd = 3,
    UserDelete = 4,

    /// <summary>Sets user <see cref="KvAuthChange.Name"/>'s password hash to <see cref="KvAuthChange.Secret"/>; its tokens stop working.</summary>
    UserPassword = 5,
    UserGrantRole = 6,
    UserRevokeRole = 7,
    RoleAdd = 8,
    RoleDelete = 9,

    /// <summary>Grants role <see cref="KvAuthChange.Role"/> <see cref="KvAuthChange.Permission"/> (replacing any grant on the same keys).</summary>
    RoleGrant = 10,

    /// <summary>Revokes role <see cref="KvAuthChange.Role"/>'s permission on <see cref="KvAuthChange.Permission"/>'s keys.</summary>
    RoleRevoke = 11,

    /// <summary>Replaces the token key with <see cref="KvAuthChange.Secret"/>: every token made before stops working.</summary>
    RotateTokenKey = 12,
}

/// <summary>
/// One change to users, roles or authentication, carried as the value of a <see cref="KvOperation.Auth"/> command:
/// kind (1 byte), name, role and secret (each a length varint and bytes; empty where the kind takes none), then a
/// permission flag (1 byte) and, with one, its kind (1 byte), from and to (length-prefixed).
/// </summary>
public sealed record KvAuthChange(KvAuthChangeKind Kind, string Name = "", string Role = "", byte[]? SecretBytes = null, KvPermission? Permission = null)
{
    /// <summary>The longest user or role name, in UTF-8 bytes.</summary>
    public const int NameBytesMax = 128;

    /// <summary>The longest password hash or token key, in bytes.</summary>
    public const int SecretBytesMax = 256;

    /// <summary>The length of a token key (HMAC-SHA256's), in bytes.</summary>
    public const int TokenKeyBytes = 32;

    private const string Subject = "auth change";

    /// <summary>The password hash or token key; empty when the kind takes none.</summary>
    public byte[] Secret => SecretBytes ?? [];

    public byte[] Encode()
    {
        var output = new List<byte> { (byte)Kind };
        KvBytes.Append(output, Encoding.UTF8.GetBytes(Name));
        KvBytes.Append(output, Encoding.UTF8.GetBytes(Role));
        KvBytes.Append(output, Secret);
        output.Add(Permission is null ? (byte)0 : (byte)1);
        if (Permission is { } permission)
        {
            output.Add((byte)permission.Kind);
            KvBytes.Append(output, permission.From);
            KvBytes.Append(output, permission.To);
        }

        return [.. output];
    }

    /// <summary>Reads what <see cref="Encode"/> wrote and checks that the kind has the fields it needs and no others.</summary>
    /// <exception cref="KvFormatException">Malformed, over a limit, or fields that do not fit the kind.</exception>
    public static KvAuthChange Decode(ReadOnlySpan<byte> bytes)
    {
        var reader = new ByteReader(bytes, Subject);
        var kind = reader.ReadByte("kind");
        if (kind is < (byte)KvAuthChangeKind.Enable or > (byte)KvAuthChangeKind.RotateTokenKey)
        {
            throw new KvFormatException($"The {Subject} has kind {kind}; kinds are {(byte)KvAuthChangeKind.Enable} to {(byte)KvAuthChangeKind.RotateTokenKey}.");
        }

        var name = ReadName(ref reader, "user name", allowEmpty: true);
        var role = ReadName(ref reader, "role name", allowEmpty: true);
        var secret = reader.ReadLengthPrefixed("secret", SecretBytesMax, nameof(SecretBytesMax)).ToArray();
        var permission = reader.ReadByte("permission flag") switch
        {
            0 => null,
            1 => ReadPermission(ref reader),
            var flag => throw new KvFormatException($"The {Subject} has permission flag {flag}; expected 0 or 1."),
        };
        reader.ExpectEnd();
        var change = new KvAuthChange((KvAuthChangeKind)kind, name, role, secret, permission);
        return change.Problem() is { } problem ? throw new KvFormatException($"The {Subject} is malformed: {problem}") : change;
    }

    /// <summary>The sentence saying which field the kind lacks or should not have, or null.</summary>
    public string? Problem()
    {
        var (needsName, needsRole, needsPermission) = Kind switch
        {
            KvAuthChangeKind.Enable or KvAuthChangeKind.Disable or KvAuthChangeKind.RotateTokenKey => (false, false, false),
            KvAuthChangeKind.UserAdd or KvAuthChangeKind.UserDelete or KvAuthChangeKind.UserPassword => (true, false, false),
            KvAuthChangeKind.UserGrantRole or KvAuthChangeKind.UserRevokeRole => (true, true, false),
            KvAuthChangeKind.RoleAdd or KvAuthChangeKind.RoleDelete => (false, true, false),
            _ => (false, true, true),
        };
        var takesSecret = Kind is KvAuthChangeKind.Enable or KvAuthChangeKind.RotateTokenKey or KvAuthChangeKind.UserAdd or KvAuthChangeKind.UserPassword;
        return (Name.Length != 0) != needsName ? (needsName ? "a user name is needed." : "it takes no user name.")
            : (Role.Length != 0) != needsRole ? (needsRole ? "a role name is needed." : "it takes no role name.")
            : (Permission is not null) != needsPermission ? (needsPermission ? "a permission is needed." : "it takes no permission.")
            : !takesSecret && Secret.Length != 0 ? "it takes no secret."
            : Kind is KvAuthChangeKind.Enable or KvAuthChangeKind.RotateTokenKey && Secret.Length != TokenKeyBytes ? $"an enable or a key rotation carries the new token key, {TokenKeyBytes} bytes."
            : Kind is KvAuthChangeKind.RoleAdd or KvAuthChangeKind.RoleDelete && Role == KvAuth.RootRole ? "the root role is built in; it cannot be added or deleted."
            : Kind is KvAuthChangeKind.RoleGrant or KvAuthChangeKind.RoleRevoke && Role == KvAuth.RootRole ? "the root role may do everything already."
            : null;
    }

    /// <summary>A user or role name: 1 to <see cref="NameBytesMax"/> bytes of UTF-8 without control characters.</summary>
    public static string? NameProblem(string name, string what) =>
        name.Length == 0 ? $"The {what} is empty."
        : Encoding.UTF8.GetByteCount(name) > NameBytesMax ? $"The {what} is {Encoding.UTF8.GetByteCount(name)} bytes, over {NameBytesMax} (NameBytesMax)."
        : name.Any(char.IsControl) ? $"The {what} holds a control character."
        : null;

    internal static string ReadName(ref ByteReader reader, string field, bool allowEmpty = false)
    {
        var bytes = reader.ReadLengthPrefixed(field, NameBytesMax, nameof(NameBytesMax));
        if (bytes.Length == 0 && allowEmpty)
        {
            return "";
        }

        string name;
        try
        {
            name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (ArgumentException)
        {
            throw new KvFormatException($"The {field} is not UTF-8.");
        }

        return NameProblem(name, field) is { } problem ? throw new KvFormatException(problem) : name;
    }

    internal static KvPermission ReadPermission(ref ByteReader reader)
    {
        var kind = reader.ReadByte("permission kind");
        if (kind is < (byte)KvPermissionKind.Read or > (byte)KvPermissionKind.ReadWrite)
        {
            throw new KvFormatException($"The permission has kind {kind}; kinds are 1 (read), 2 (write) and 3 (readwrite).");
        }

        var from = reader.ReadLengthPrefixed("permission start", KvLimits.KeyBytesMax + 1, "KeyBytesMax + 1").ToArray();
        var to = reader.ReadLengthPrefixed("permission end", KvLimits.KeyBytesMax + 1, "KeyBytesMax + 1").ToArray();
        if (to.Length != 0 && to.AsSpan().SequenceCompareTo(from) <= 0)
        {
            throw new KvFormatException("The permission's end is not after its start.");
        }

        return new KvPermission((KvPermissionKind)kind, from, to);
    }
}
