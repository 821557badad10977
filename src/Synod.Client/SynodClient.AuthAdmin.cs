using Synod.Protocol;

namespace Synod.Client;

/// <summary>Users, roles and authentication (synod auth, user, role): changes go through the log exactly once, like a put.</summary>
public sealed partial class SynodClient
{
    /// <summary>
    /// Makes one change to users, roles or authentication. While authentication is on only a user with the root role
    /// may. A password is sent to the replica, which stores only its salted hash.
    /// </summary>
    /// <param name="noPassword">With <see cref="AuthChangeKind.UserAdd"/> or <see cref="AuthChangeKind.UserPassword"/>: no password, the user signs in with a client certificate only.</param>
    public Task ChangeAuthAsync(
        AuthChangeKind kind, string name = "", string role = "", string? password = null, bool noPassword = false, Permission? permission = null,
        SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync(
            $"auth change ({kind})",
            options,
            [],
            (session, client, callOptions) => client.AuthChangeAsync(
                new AuthChangeRequest
                {
                    ClientId = session.ClientId,
                    Sequence = session.NextSequence,
                    Kind = kind,
                    Name = name,
                    Role = role,
                    Password = password ?? "",
                    NoPassword = noPassword,
                    Permission = permission,
                },
                callOptions),
            (response, _, _) => response,
            cancellationToken);

    /// <summary>Whether authentication is on and who this client is signed in as; with the root role, every user and role too.</summary>
    public async Task<AuthStatusResponse> AuthStatusAsync(SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var history = new AttemptHistory("auth status", isWrite: false);
        var (response, _) = await CallAsync(history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.AuthStatusAsync(new AuthStatusRequest(), callOptions), cancellationToken);
        return response;
    }
}
