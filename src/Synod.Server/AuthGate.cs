using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Synod.Driver;
using Synod.Kv;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// Who a client request is made as, and whether that user may do it (docs/security.md, "Users and roles"). The users
/// and roles are the state machine's (<see cref="KvAuth"/>, replicated through the log), read as this replica has
/// applied them. A request names its user by a token from <see cref="Authenticate"/> (metadata "token"), or by a
/// client certificate whose subject's common name is a user. Writes carry the user into the log, where the state machine
/// checks them at their slot; reads are checked here once they are answered, against roles at least as new as the read.
/// </summary>
internal sealed class AuthGate(ReplicaHost host, ServerOptions options, TimeProvider time, Microsoft.Extensions.Logging.ILogger? logger = null)
{
    // 1 once a password sign-in over plaintext from another machine has been warned of (once per life of the replica).
    private int _plaintextSignInWarned;

    /// <summary>The metadata a request carries its token in (etcd's name).</summary>
    public const string TokenHeader = "token";

    /// <summary>PBKDF2-HMAC-SHA256 rounds of a stored password hash: slow on purpose, about 50 ms here.</summary>
    public const int PasswordHashIterations = 100_000;

    /// <summary>The longest token read from a request; a longer one is not a token this replica made.</summary>
    public const int TokenCharsMax = 1_024;

    /// <summary>The longest password accepted, in UTF-8 bytes.</summary>
    public const int PasswordBytesMax = 1_024;

    /// <summary>
    /// Sign-ins (PBKDF2 hashes) a replica computes at once; one more is answered UNAVAILABLE at once, so a flood of
    /// password guesses takes at most this many cores, and the client retries elsewhere.
    /// </summary>
    public const int SignInsAtOnceMax = 2;

    private readonly SemaphoreSlim _signIns = new(SignInsAtOnceMax, SignInsAtOnceMax);

    /// <summary>A hash no password is checked against in vain for a user that does not exist, so that takes as long as a wrong password.</summary>
    private static readonly Lazy<byte[]> NoUserHash = new(() => HashPassword(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));

    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string HashScheme = "pbkdf2-sha256";
    private const string TokenVersion = "v1";

    /// <summary>Users, roles and whether authentication is on, as this replica has applied them.</summary>
    public KvAuth Auth => host.Auth;

    /// <summary>
    /// The user the request is made as: null while authentication is off, or when the request names none (no token and
    /// no client certificate of a user).
    /// </summary>
    /// <exception cref="RpcException">UNAUTHENTICATED: a token that this cluster did not make, or that expired or whose user's password changed.</exception>
    public string? UserOf(ServerCallContext context) => SignInOf(context).User;

    /// <summary>
    /// <see cref="UserOf"/>, with how the user proved it (its generation, and the token key for a token), so that a watch
    /// can end once that proof is retired: a password changed, the user deleted, the token key rotated.
    /// </summary>
    /// <exception cref="RpcException">UNAUTHENTICATED: a token that this cluster did not make, or that expired or whose user's password changed.</exception>
    public (string? User, WatchSignIn? SignIn) SignInOf(ServerCallContext context)
    {
        RequireLoaded();
        var auth = Auth;
        if (!auth.Enabled)
        {
            return (null, null);
        }

        if (context.RequestHeaders.GetValue(TokenHeader) is { } token)
        {
            var name = UserOfToken(auth, token, out var problem)
                ?? throw new RpcException(new Status(StatusCode.Unauthenticated, $"the request's token is not good: {problem} Authenticate again (the client library does so by itself)."));
            return (name, new WatchSignIn(auth.Users[name].Generation, auth.TokenKey));
        }

        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        return certificate?.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } certified && auth.Users.TryGetValue(certified, out var user)
            ? (certified, new WatchSignIn(user.Generation, null))
            : (null, null);
    }

    private void RequireLoaded()
    {
        if (!host.StateLoaded)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"replica {options.Id} is still loading its state (snapshot and log), so it cannot yet tell who may do what; retry, here in a moment or at another replica."));
        }
    }

    /// <summary>Checks a user's password and answers a token every replica accepts until it expires.</summary>
    public AuthenticateResponse Authenticate(string name, string password, string? plaintextFrom = null)
    {
        RequireLoaded();
        if (plaintextFrom is not null && logger is not null && Interlocked.Exchange(ref _plaintextSignInWarned, 1) == 0)
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger,
                "replica {Id}: user '{User}' signed in with a password from {Peer} over plaintext: passwords and tokens cross the network in the clear. Give the replicas --tls-cert and --tls-key (said once)",
                options.Id, name, plaintextFrom);
        }

        var auth = Auth;
        if (!auth.Enabled)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "authentication is off, so there is nothing to sign in to; `synod auth enable` turns it on."));
        }

        if (!_signIns.Wait(0))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"replica {options.Id} is checking {SignInsAtOnceMax} passwords already (SignInsAtOnceMax); retry, here or at another replica."));
        }

        KvUser? user;
        try
        {
            // One answer, and the same work, for a wrong name and a wrong password: neither tells which users exist.
            // A user with no password (certificate only) is checked against the same hash as a missing one, so that the
            // time of the answer does not tell such a user apart either.
            var known = auth.Users.TryGetValue(name, out user);
            var hashed = known && IsPasswordHash(user!.PasswordHash);
            if (!VerifyPassword(hashed ? user!.PasswordHash : NoUserHash.Value, password) || !hashed)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, $"user '{name}' does not exist or the password is wrong."));
            }
        }
        finally
        {
            _signIns.Release();
        }

        var ttl = TimeSpan.FromMilliseconds(options.AuthTokenTtlMs);
        return new AuthenticateResponse { Token = Token(auth, user!, time.GetUtcNow() + ttl), TtlSeconds = (uint)ttl.TotalSeconds };
    }

    /// <summary>A salted slow hash of <paramref name="password"/>, as it enters the log: "pbkdf2-sha256$ROUNDS$SALT$HASH" (base64url).</summary>
    public static byte[] HashPassword(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, PasswordHashIterations, HashAlgorithmName.SHA256, HashBytes);
        return Encoding.ASCII.GetBytes($"{HashScheme}${PasswordHashIterations}${Base64Url.EncodeToString(salt)}${Base64Url.EncodeToString(hash)}");
    }

    /// <summary>Whether <paramref name="password"/> matches a hash <see cref="HashPassword"/> made; an empty hash (certificate only) matches nothing.</summary>
    private static bool IsPasswordHash(byte[] stored) => stored.Length > HashScheme.Length && stored.AsSpan().StartsWith(Encoding.ASCII.GetBytes(HashScheme + "$"));

    public static bool VerifyPassword(byte[] stored, string password)
    {
        var parts = Encoding.ASCII.GetString(stored).Split('$');
        if (parts.Length != 4 || parts[0] != HashScheme || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var rounds)
            || rounds is < 1 or > 10 * PasswordHashIterations)
        {
            return false;
        }

        try
        {
            var salt = Base64Url.DecodeFromChars(parts[2]);
            var expected = Base64Url.DecodeFromChars(parts[3]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, rounds, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>"v1.USER.GENERATION.EXPIRES.MAC": the user (base64url), its password generation, the expiry (Unix seconds) and an HMAC-SHA256 over them with the cluster's token key.</summary>
    private static string Token(KvAuth auth, KvUser user, DateTimeOffset expires)
    {
        var body = FormattableString.Invariant($"{TokenVersion}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(user.Name))}.{user.Generation}.{expires.ToUnixTimeSeconds()}");
        return $"{body}.{Base64Url.EncodeToString(HMACSHA256.HashData(auth.TokenKey, Encoding.ASCII.GetBytes(body)))}";
    }

    private string? UserOfToken(KvAuth auth, string token, out string problem)
    {
        var parts = token.Length <= TokenCharsMax ? token.Split('.') : [];
        if (parts.Length != 5 || parts[0] != TokenVersion)
        {
            problem = "it is not a token of this cluster.";
            return null;
        }

        byte[] mac;
        string name;
        try
        {
            mac = Base64Url.DecodeFromChars(parts[4]);
            name = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
        }
        catch (FormatException)
        {
            problem = "it is not a token of this cluster.";
            return null;
        }

        var body = token[..token.LastIndexOf('.')];
        if (!CryptographicOperations.FixedTimeEquals(mac, HMACSHA256.HashData(auth.TokenKey, Encoding.ASCII.GetBytes(body))))
        {
            problem = "it was not made by this cluster, or authentication was turned off and on again since.";
            return null;
        }

        if (!long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || time.GetUtcNow().ToUnixTimeSeconds() >= expires)
        {
            problem = "it expired.";
            return null;
        }

        if (!auth.Users.TryGetValue(name, out var user) || parts[2] != user.Generation.ToString(CultureInfo.InvariantCulture))
        {
            problem = $"user '{name}' was deleted or its password changed since it was made.";
            return null;
        }

        problem = "";
        return name;
    }

    /// <summary>Refuses a request that names no user while authentication is on.</summary>
    public void RequireUser(string? user, string operation)
    {
        if (Auth.Enabled && (user is null || !Auth.Users.ContainsKey(user)))
        {
            throw Denied(user, operation);
        }
    }

    /// <summary>Refuses a request whose user does not have the root role while authentication is on.</summary>
    public void RequireRoot(string? user, string operation)
    {
        if (!Auth.IsRoot(user))
        {
            throw Denied(user, operation, "only a user with the root role may");
        }
    }

    /// <summary>Refuses a read of keys [<paramref name="from"/>, <paramref name="to"/>) not all readable by the user.</summary>
    public void RequireRead(string? user, byte[] from, byte[] to)
    {
        if (!Auth.Allows(user, from, to, write: false))
        {
            throw Denied(user, $"read {KvAuth.RangeText(from, to)}");
        }
    }

    /// <summary>Refuses a read of <paramref name="key"/> by a user that may not read it (nothing is allocated while authentication is off).</summary>
    public void RequireRead(string? user, byte[] key)
    {
        if (!Auth.Allows(user, key, write: false))
        {
            throw Denied(user, $"read key {KvAuth.KeyText(key)}");
        }
    }

    /// <summary>PERMISSION_DENIED naming the user, the operation and why.</summary>
    public static RpcException Denied(string? user, string operation, string? why = null) =>
        new(new Status(StatusCode.PermissionDenied, KvAuth.DenialText(user, operation, why)));
}
