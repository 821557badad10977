namespace Synod.Client;

/// <summary>
/// Checks a request before it is sent, with the state machine's own rules and sentences (RequestRules, the same
/// source file the state machine compiles), so a bad request fails fast and reads the same as a replica's refusal.
/// </summary>
internal static class RequestValidation
{
    /// <summary>Throws <see cref="SynodInvalidArgumentException"/> if the command would be refused as invalid.</summary>
    public static void ThrowIfInvalid(byte operation, byte[] key, byte[] value)
    {
        if (Problem(operation, key, value) is { } problem)
        {
            throw new SynodInvalidArgumentException($"{problem} Nothing was sent.");
        }
    }

    /// <summary>The sentence saying what is wrong with the command, or null if it is valid.</summary>
    public static string? Problem(byte operation, byte[] key, byte[] value) =>
        RequestRules.Problem(operation, clientId: 1, sequence: 1, key, value);
}
