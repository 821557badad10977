namespace Synod.Explorer;

/// <summary>
/// How an election is interrupted: <paramref name="Candidate"/> hears pre-vote answers from <paramref name="PreVoters"/> (one short of a
/// quorum with itself, so it stands), receives promises from <paramref name="Promisers"/> (too few for a quorum), stands
/// <paramref name="Stands"/> times, and everything else it sent stays in flight.
/// </summary>
public sealed record ElectionInterruption(int Candidate, IReadOnlyList<int> PreVoters, IReadOnlyList<int> Promisers, int Stands)
{
    public override string ToString() =>
        $"candidate {Candidate}, pre-votes from {string.Join(",", PreVoters)}, promises from {(Promisers.Count == 0 ? "none" : string.Join(",", Promisers))}, stands {Stands}x";
}
