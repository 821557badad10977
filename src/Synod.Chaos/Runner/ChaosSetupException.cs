namespace Synod.Chaos;

/// <summary>A chaos run could not begin: a replica or proxy did not start, or the fresh cluster elected no leader in time.</summary>
public sealed class ChaosSetupException : Exception
{
    public ChaosSetupException()
    {
    }

    public ChaosSetupException(string message)
        : base(message)
    {
    }

    public ChaosSetupException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
