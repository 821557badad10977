namespace Synod.Client;

/// <summary>The base of every failure the Synod client reports; the message is a sentence that says what and why.</summary>
public class SynodException : Exception
{
    public SynodException()
    {
    }

    public SynodException(string message)
        : base(message)
    {
    }

    public SynodException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
