using System.Text;
using Grpc.Core;
using Google.Protobuf;
using Synod.Kv;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>Users, roles and authentication (synod auth, synod user, synod role): docs/security.md, "Users and roles".</summary>
internal sealed partial class KvService
{
    public override Task<AuthenticateResponse> Authenticate(AuthenticateRequest request, ServerCallContext context)
    {
        var problem = KvAuthChange.NameProblem(request.Name, "user name")
            ?? (Encoding.UTF8.GetByteCount(request.Password) > AuthGate.PasswordBytesMax ? $"the password is over {AuthGate.PasswordBytesMax} bytes." : null);
        if (problem is not null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
        }

        // PBKDF2 takes tens of milliseconds: off the gRPC thread that called.
        var plaintextFrom = options.ClientTls is null && RemotePeer(context.Peer) is { } peer ? peer : null;
        return Task.Run(() => auth.Authenticate(request.Name, request.Password, plaintextFrom), context.CancellationToken);
    }

    /// <summary>The caller's address when it is another machine's ("ipv4:10.0.0.5:41234" gives "10.0.0.5"), or null for loopback or an unknown form.</summary>
    internal static string? RemotePeer(string? peer)
    {
        if (peer is null || peer.IndexOf(':', StringComparison.Ordinal) is var scheme && scheme < 0)
        {
            return null;
        }

        var address = peer[(scheme + 1)..];
        var port = address.LastIndexOf(':');
        var host = (port > 0 ? address[..port] : address).Trim('[', ']');
        return System.Net.IPAddress.TryParse(host, out _) && !Protocol.HostPort.IsLoopback(host) ? host : null;
    }

    public override async Task<AuthChangeResponse> AuthChange(AuthChangeRequest request, ServerCallContext context)
    {
        // Judged here too, before a password is hashed or a slot taken (the log judges it again at its slot).
        auth.RequireRoot(auth.UserOf(context), "change users, roles or authentication");
        var change = await ChangeOf(request);
        var outcome = await WriteAsync(KvCommand.ChangeAuth(request.ClientId, request.Sequence, change, ""), context);
        var subject = change.Name.Length != 0 ? $"user '{change.Name}'" : change.Role.Length != 0 ? $"role '{change.Role}'" : "authentication";
        return outcome.Status switch
        {
            KvStatus.Ok => new AuthChangeResponse { ServedBy = (uint)options.Id, Duplicate = outcome.Duplicate },
            KvStatus.AuthExists => throw new RpcException(new Status(StatusCode.AlreadyExists, $"{subject} exists already; nothing changed.")),
            KvStatus.NotFound => throw new RpcException(new Status(StatusCode.NotFound, change.Kind switch
            {
                KvAuthChangeKind.UserGrantRole => $"user '{change.Name}' or role '{change.Role}' does not exist; nothing changed.",
                KvAuthChangeKind.UserRevokeRole => $"user '{change.Name}' does not exist or does not hold role '{change.Role}'; nothing changed.",
                KvAuthChangeKind.RoleRevoke => $"role '{change.Role}' does not exist or has no permission on {change.Permission}; nothing changed.",
                _ => $"{subject} does not exist; nothing changed.",
            })),
            // INVALID_ARGUMENT, not FAILED_PRECONDITION: that one tells a client its session is gone.
            KvStatus.AuthRootRequired => throw new RpcException(new Status(StatusCode.InvalidArgument, change.Kind == KvAuthChangeKind.Enable
                ? "authentication needs a user named root first, or no one could change users and roles once it is on: `synod user add root`, then enable it."
                : "authentication is on, and it needs user root with the root role, or no one could change users and roles; turn authentication off first.")),
            // INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: a client retries that (an overloaded replica), and this answer never changes.
            KvStatus.AuthFull => throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the change would pass a limit: {KvLimits.UsersMax} users, {KvLimits.RolesMax} roles, {KvLimits.RolesPerUserMax} roles per user, {KvLimits.PermissionsPerRoleMax} permissions per role or {KvLimits.PermissionsMax} in all; nothing changed.")),
            _ => throw new RpcException(new Status(StatusCode.Internal, $"the auth change was answered {outcome.Status}.")),
        };
    }

    public override Task<AuthStatusResponse> AuthStatus(AuthStatusRequest request, ServerCallContext context)
    {
        var user = auth.UserOf(context);
        var state = auth.Auth;
        var response = new AuthStatusResponse { Enabled = state.Enabled, User = user ?? "", ServedBy = (uint)options.Id };
        if (state.IsRoot(user))
        {
            response.Users.AddRange(state.Users.Values.Select(u => new AuthUser { Name = u.Name, HasPassword = u.PasswordHash.Length != 0, Roles = { u.Roles } }));
            response.Roles.Add(new AuthRole { Name = KvAuth.RootRole, Permissions = { new Permission { Kind = PermissionKind.Readwrite } } });
            response.Roles.AddRange(state.Roles.Values.Select(r => new AuthRole { Name = r.Name, Permissions = { r.Permissions.Select(ProtoOf) } }));
        }

        return Task.FromResult(response);
    }

    private static Permission ProtoOf(KvPermission permission) => new()
    {
        Kind = (PermissionKind)permission.Kind,
        From = ByteString.CopyFrom(permission.From),
        To = ByteString.CopyFrom(permission.To),
    };

    /// <summary>The change the request asks for, checked; a password is hashed here, so only its salted hash enters the log.</summary>
    private static async Task<KvAuthChange> ChangeOf(AuthChangeRequest request)
    {
        if (request.Kind is < AuthChangeKind.AuthEnable or > AuthChangeKind.AuthRotateTokenKey)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"auth change kind {(int)request.Kind} is unknown; kinds are AUTH_ENABLE ({(int)AuthChangeKind.AuthEnable}) to AUTH_ROTATE_TOKEN_KEY ({(int)AuthChangeKind.AuthRotateTokenKey})."));
        }

        var kind = (KvAuthChangeKind)request.Kind;
        foreach (var (value, what) in new[] { (request.Name, "user name"), (request.Role, "role name") })
        {
            if (value.Length != 0 && KvAuthChange.NameProblem(value, what) is { } nameProblem)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, nameProblem));
            }
        }

        byte[] secret = [];
        if (kind is KvAuthChangeKind.UserAdd or KvAuthChangeKind.UserPassword)
        {
            if (request.Password.Length == 0 && !request.NoPassword)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "give a password, or no_password for a user that signs in with a client certificate only."));
            }

            if (Encoding.UTF8.GetByteCount(request.Password) > AuthGate.PasswordBytesMax)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"the password is over {AuthGate.PasswordBytesMax} bytes."));
            }

            secret = request.NoPassword ? [] : await Task.Run(() => AuthGate.HashPassword(request.Password));
        }
        else if (kind is KvAuthChangeKind.Enable or KvAuthChangeKind.RotateTokenKey)
        {
            // The key every replica signs and checks tokens with, drawn here and replicated through the log.
            secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(KvAuthChange.TokenKeyBytes);
        }

        KvPermission? permission = null;
        if (request.Permission is { } p && kind is KvAuthChangeKind.RoleGrant or KvAuthChangeKind.RoleRevoke)
        {
            var permissionKind = kind == KvAuthChangeKind.RoleRevoke && p.Kind == PermissionKind.PermissionUnspecified ? PermissionKind.Readwrite : p.Kind;
            if (permissionKind is < PermissionKind.Read or > PermissionKind.Readwrite || p.From.Length > KvLimits.KeyBytesMax + 1 || p.To.Length > KvLimits.KeyBytesMax + 1
                || (p.To.Length != 0 && p.To.Span.SequenceCompareTo(p.From.Span) <= 0))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "the permission needs a kind (READ, WRITE or READWRITE) and keys [from, to) with to after from (or empty: to the last key), each at most KeyBytesMax + 1 bytes."));
            }

            permission = new KvPermission((KvPermissionKind)permissionKind, p.From.ToByteArray(), p.To.ToByteArray());
        }

        var change = new KvAuthChange(kind, request.Name, request.Role, secret, permission);
        return change.Problem() is { } problem
            ? throw new RpcException(new Status(StatusCode.InvalidArgument, $"the {kind} change is malformed: {problem}"))
            : change;
    }
}
