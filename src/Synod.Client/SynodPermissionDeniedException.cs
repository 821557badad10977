namespace Synod.Client;

/// <summary>
/// The cluster has authentication on and refused the request: the user may not do it (PERMISSION_DENIED), names no
/// user, or could not sign in (wrong name or password, at every replica asked). Never retried; a write refused so was not
/// applied, unless the message says that an earlier attempt's outcome is unknown (a sign-in refused after a first attempt
/// went unanswered).
/// </summary>
public sealed class SynodPermissionDeniedException : SynodException
{
    public SynodPermissionDeniedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
