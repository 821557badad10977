namespace Synod.Client;

/// <summary>
/// The cluster has authentication on and refused the request: the user may not do it (PERMISSION_DENIED), names no
/// user, or could not sign in (wrong name or password). Never retried; a write refused so was not applied.
/// </summary>
public sealed class SynodPermissionDeniedException : SynodException
{
    public SynodPermissionDeniedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
