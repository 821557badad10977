namespace Synod.Core;

/// <summary>
/// The only source of randomness the core may use (election jitter). It is passed in so that the
/// simulator can derive it from the run's seed and every run replays byte for byte.
/// </summary>
public interface IRandomSource
{
    /// <summary>Returns a number in [0, maxExclusive).</summary>
    int Next(int maxExclusive);
}
