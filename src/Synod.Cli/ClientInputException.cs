namespace Synod.Cli;

/// <summary>Bad input to a client command (a flag, the cluster file); reported as one line with exit code InvalidInput.</summary>
public sealed class ClientInputException : Exception
{
    public ClientInputException()
    {
    }

    public ClientInputException(string message)
        : base(message)
    {
    }

    public ClientInputException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
