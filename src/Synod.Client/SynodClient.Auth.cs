using Grpc.Core;
using Synod.Protocol;
using KvGrpcClient = Synod.Protocol.Kv.KvClient;

namespace Synod.Client;

/// <summary>
/// Signing in (<see cref="SynodClientOptions.User"/>): the client asks a replica for a token at its first call and again
/// once half the token's life has passed, and sends it with every call as the metadata "token". Every replica accepts a
/// token any replica made. A cluster with authentication off answers that there is nothing to sign in to; the client then
/// sends no token, and asks again a minute later in case it was turned on.
/// </summary>
public sealed partial class SynodClient
{
    private const string TokenHeader = "token";

    /// <summary>How long the client goes without a token after a cluster said authentication is off.</summary>
    private static readonly TimeSpan AuthOffRecheck = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _signIn = new(1, 1);

    // The token ("" while authentication is off) and when to ask for a new one (a timestamp of _time).
    private string? _token;
    private long _tokenRenewAt;

    /// <summary>The metadata a call to replica <paramref name="index"/> carries: the token, or null (no user, or authentication off).</summary>
    private async ValueTask<Metadata?> AuthHeadersAsync(int index, DateTime deadline, CancellationToken cancellationToken)
    {
        if (_options.User is null)
        {
            return null;
        }

        var token = Volatile.Read(ref _token);
        if (token is null || _time.GetTimestamp() >= Volatile.Read(ref _tokenRenewAt))
        {
            token = await SignInAsync(index, deadline, cancellationToken);
        }

        return token.Length == 0 ? null : new Metadata { { TokenHeader, token } };
    }

    private async Task<string> SignInAsync(int index, DateTime deadline, CancellationToken cancellationToken)
    {
        await _signIn.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _token) is { } fresh && _time.GetTimestamp() < Volatile.Read(ref _tokenRenewAt))
            {
                return fresh;
            }

            var (token, renewAfter) = await AuthenticateAnywhereAsync(index, deadline, cancellationToken);
            Volatile.Write(ref _tokenRenewAt, _time.GetTimestamp() + (long)(renewAfter.TotalSeconds * _time.TimestampFrequency));
            Volatile.Write(ref _token, token);
            return token;
        }
        finally
        {
            _signIn.Release();
        }
    }

    /// <summary>
    /// Asks replica <paramref name="index"/> for a token, and the others in turn while the ones asked refuse the name or
    /// password: a replica that has not yet applied the user's addition or new password refuses what the others accept.
    /// Refused by every replica, it is refused for good; refused by some while the others could not be asked, the
    /// attempt fails as UNAUTHENTICATED and the call asks again after its usual pause, until its operation timeout. Returns the token ("" when authentication is off)
    /// and when to renew it.
    /// </summary>
    private async Task<(string Token, TimeSpan RenewAfter)> AuthenticateAnywhereAsync(int index, DateTime deadline, CancellationToken cancellationToken)
    {
        var refusals = new List<string>();
        var unasked = 0;
        for (var tried = 0; tried < _endpoints.Length; tried++)
        {
            var at = (index + tried) % _endpoints.Length;
            try
            {
                var response = await new KvGrpcClient(_channels[at].Value).AuthenticateAsync(
                    new AuthenticateRequest { Name = _options.User, Password = _options.Password ?? "" }, deadline: deadline, cancellationToken: cancellationToken);
                return (response.Token, TimeSpan.FromSeconds(Math.Max(1, response.TtlSeconds / 2.0)));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                // Authentication is off: nothing to sign in to.
                return ("", AuthOffRecheck);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                throw new SynodPermissionDeniedException($"cannot sign in as user '{_options.User}' at {_endpoints[at]}: {ClientText.Sentence(e.Status.Detail ?? "")}", e);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                refusals.Add($"{_endpoints[at]}: {ClientText.Sentence(e.Status.Detail ?? "")}");
            }
            catch (RpcException) when (tried > 0 && !cancellationToken.IsCancellationRequested)
            {
                // Another replica that cannot answer now: the first one's failure is the call's to retry, the others'
                // only leave them unasked.
                unasked++;
            }
        }

        if (unasked > 0)
        {
            // A replica that could not be asked now (busy checking passwords, down, out of time) may be one that has
            // applied the user's addition or new password: not refused for good, asked again after the usual pause.
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"cannot sign in as user '{_options.User}' yet: refused by {(refusals.Count == 1 ? "the replica" : $"{refusals.Count} replicas")} asked, and {unasked} could not be asked; {refusals[0]}"));
        }

        throw new SynodPermissionDeniedException(
            $"cannot sign in as user '{_options.User}': refused by {(refusals.Count == 1 ? "the replica" : $"{refusals.Count} replicas")} asked; {refusals[0]}");
    }

    /// <summary>Whether this client has a user but sends no token, having found authentication off.</summary>
    private bool SignedInWithoutToken() => _options.User is not null && Volatile.Read(ref _token) is { Length: 0 };

    /// <summary>A replica refused the token (it expired, its user's password changed, authentication was turned off and on): sign in again at the next call.</summary>
    private void ForgetToken() => Volatile.Write(ref _token, null);
}
