namespace Synod.Fuzz;

/// <summary>
/// One decoder under the fuzzer: <paramref name="Decode"/> runs it on an input, and <paramref name="Allowed"/> are the
/// exceptions its caller turns into a refusal. Anything else that escapes is what the fuzzer is looking for.
/// </summary>
internal sealed record FuzzTarget(string Name, Action<byte[]> Decode, IReadOnlyList<Type> Allowed, Func<IReadOnlyList<byte[]>> Seeds)
{
    public bool Allows(Exception exception) => Allowed.Any(type => type.IsInstanceOfType(exception));

    /// <summary>Runs the decoder once; an allowed refusal is swallowed, anything else propagates.</summary>
    public void Run(byte[] input)
    {
        try
        {
            Decode(input);
        }
        catch (Exception e) when (Allows(e))
        {
            // Refused as its caller expects.
        }
    }
}
