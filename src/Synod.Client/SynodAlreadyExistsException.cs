namespace Synod.Client;

/// <summary>
/// What the request would create exists already (ALREADY_EXISTS): a lease id taken, a user or role of that name. Never
/// retried, and nothing changed; a caller that drew the lease id itself can draw another. A kind of
/// <see cref="SynodInvalidArgumentException"/>, as the request as given can never succeed (the CLI exits 2).
/// </summary>
public sealed class SynodAlreadyExistsException : SynodInvalidArgumentException
{
    public SynodAlreadyExistsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
