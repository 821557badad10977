namespace Synod.Fuzz;

/// <summary>
/// Replays inputs (a crash AFL saved, a corpus file) through a target's decoder outside AFL and says what happened, with
/// the exception's stack when it is not the refusal the target allows.
/// </summary>
internal static class Check
{
    /// <summary>Exit code 0 when every file decoded or was refused as allowed, 1 when any threw something else.</summary>
    public static int Files(FuzzTarget target, IEnumerable<string> files)
    {
        var crashes = 0;
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            Console.WriteLine($"{file} ({input.Length} bytes): {Convert.ToHexString(input)}");
            try
            {
                target.Decode(input);
                Console.WriteLine("  decoded");
            }
            catch (Exception e) when (target.Allows(e))
            {
                Console.WriteLine($"  refused: {e.GetType().Name}: {e.Message}");
            }
            catch (Exception e)
            {
                crashes++;
                Console.WriteLine($"  CRASH: {e}");
            }
        }

        return crashes == 0 ? 0 : 1;
    }
}
