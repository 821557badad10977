namespace Synod.Tests;

/// <summary>
/// A slow real-process test (a minute or more, or tens of seconds whose ground a faster test of the default run also
/// covers), left out of the default run (which must stay under ten minutes on two cores) and run with <c>SYNOD_SOAK=1 dotnet test tests/Synod.Tests -c Release --filter Category=Soak</c>. Give the
/// test <c>[Trait("Category", "Soak")]</c> too, so that the filter finds it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SoakFactAttribute : FactAttribute
{
    /// <summary>The environment variable that runs soaks.</summary>
    public const string Variable = "SYNOD_SOAK";

    public SoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"a soak: run with {Variable}=1 dotnet test tests/Synod.Tests -c Release --filter Category=Soak";
        }
    }
}
