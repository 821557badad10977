using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// How a watch's user proved who it is when its stream opened: the user's generation then (<see cref="KvUser.Generation"/>,
/// which a password change or the user's deletion and re-creation changes) and, for a token, the token key it was made
/// under (which rotating the key or turning authentication off and on changes). A watch ends once either has changed, as
/// every later call with that token would be refused: a leaked password or token stops reading when it is retired.
/// </summary>
/// <param name="Generation">The user's generation when the stream was opened.</param>
/// <param name="TokenKey">The token key the stream's token was checked under; null for a client certificate.</param>
public sealed record WatchSignIn(long Generation, byte[]? TokenKey)
{
    /// <summary>Why a watch of <paramref name="user"/> signed in so no longer stands under <paramref name="auth"/>; null while it does.</summary>
    public string? Retired(KvAuth auth, string user)
    {
        ArgumentNullException.ThrowIfNull(auth);
        if (!auth.Enabled)
        {
            return null;
        }

        if (!auth.Users.TryGetValue(user, out var now) || now.Generation != Generation)
        {
            return $"user '{user}' was deleted or its password changed since this watch began; sign in again and watch anew.";
        }

        return TokenKey is not null && !TokenKey.AsSpan().SequenceEqual(auth.TokenKey)
            ? $"the token user '{user}' opened this watch with was retired (the token key was rotated, or authentication turned off and on); sign in again and watch anew."
            : null;
    }
}
