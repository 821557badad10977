namespace Synod.Simulation;

/// <summary>A range of seeds written "A..B" (inclusive), or a single seed "N".</summary>
public readonly record struct SeedRange(long First, long Last)
{
    public long Count => Last - First + 1;

    public static SeedRange Parse(string text)
    {
        var parts = text.Split("..");
        if (parts.Length == 1 && long.TryParse(parts[0], out var single))
        {
            return new SeedRange(single, single);
        }

        if (parts.Length == 2 && long.TryParse(parts[0], out var first) && long.TryParse(parts[1], out var last) && first <= last)
        {
            return new SeedRange(first, last);
        }

        throw new FormatException($"'{text}' is not a seed range: write FIRST..LAST with FIRST <= LAST, for example 1..500.");
    }
}
