namespace Synod.Client;

/// <summary>
/// The request was refused as bad input (empty key, key or value over its limit), either by the client before
/// sending or by a replica (INVALID_ARGUMENT). Never retried, and never applied.
/// </summary>
public class SynodInvalidArgumentException : SynodException
{
    public SynodInvalidArgumentException(string message)
        : base(message)
    {
    }

    public SynodInvalidArgumentException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
