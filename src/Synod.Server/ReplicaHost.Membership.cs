using Microsoft.Extensions.Logging;
using Synod.Core;

namespace Synod.Server;

/// <summary>
/// Membership in the server (docs/protocol.md, "Membership"): the peer links follow the configurations the core knows
/// (a link to every member of every configuration from commit + 1 on), the peer receiver accepts their ids, and a
/// replica that the configurations no longer hold stops, saying why, after <see cref="ServerOptions.RemovedLingerMs"/>
/// in which it still answers peers that may need it to catch up.
/// </summary>
public sealed partial class ReplicaHost
{
    private IReadOnlyList<Replica.ConfigurationEpoch>? _epochsLinked;
    private volatile IReadOnlySet<int> _memberIds = new HashSet<int>();
    private bool _removedNoted;
    private bool _rebuildRefusalNoted;

    /// <summary>Raised once (from the owner loop) when this replica was removed and has lingered: the server stops.</summary>
    public event Action<string>? Removed;

    /// <summary>Whether <paramref name="id"/> is a member of a configuration this replica knows (any thread).</summary>
    internal bool IsMember(int id) => _options.Endpoints.ContainsKey(id) || _memberIds.Contains(id);

    /// <summary>Every member's endpoint this replica has known (a removed one is kept while the core still talks to it).</summary>
    private readonly Dictionary<int, string> _knownEndpoints = [];
    private IReadOnlyList<int>? _peersLinked;

    /// <summary>After each pass: links to the replicas the core talks to now, and the end of a removed replica.</summary>
    private void FollowMembership()
    {
        var core = _driver.Core;
        var epochsChanged = !ReferenceEquals(_epochsLinked, core.ConfigurationEpochs) && (_epochsLinked is null ||
            _epochsLinked.Count != core.ConfigurationEpochs.Count || _epochsLinked[^1] != core.ConfigurationEpochs[^1]);
        if (epochsChanged || !ReferenceEquals(_peersLinked, core.PeerIds))
        {
            _epochsLinked = [.. core.ConfigurationEpochs];
            _peersLinked = core.PeerIds;
            foreach (var epoch in _epochsLinked)
            {
                foreach (var member in epoch.Configuration.Members)
                {
                    var endpoint = member.Endpoint.Length > 0 ? member.Endpoint : _options.Endpoints.GetValueOrDefault(member.Id, "");
                    if (endpoint.Length > 0)
                    {
                        _knownEndpoints[member.Id] = endpoint;
                    }
                }
            }

            _memberIds = _knownEndpoints.Keys.Where(id => core.PeerIds.Contains(id) || _epochsLinked.Any(e => e.Configuration.Contains(id))).ToHashSet();
            _peers.Follow(_memberIds.Where(id => id != Id).ToDictionary(id => id, id => _knownEndpoints[id]), _stopping.Token);
        }

        if (core.RebuildRefusal is { } refusal && !_rebuildRefusalNoted)
        {
            _rebuildRefusalNoted = true;
            _logger.LogError("{Refusal}", refusal);
        }

        if (core.Removed && !_removedNoted)
        {
            _removedNoted = true;
            var latest = core.LatestConfiguration;
            var why = $"replica {Id} was removed from the cluster: configuration revision {latest.Revision} (voters {string.Join(",", latest.Voters)}" +
                (latest.Learners.Count > 0 ? $", learners {string.Join(",", latest.Learners)}" : "") + $") governs from slot {core.LatestConfigurationFrom}, " +
                $"and every slot this replica had to vote in is chosen (commit index {core.CommitIndex}). It stops in {_options.RemovedLingerMs} ms; its id is never used again.";
            _logger.LogWarning("{Why}", why);
            _ = Task.Delay(_options.RemovedLingerMs, CancellationToken.None).ContinueWith(_ => Removed?.Invoke(why), TaskScheduler.Default);
        }
    }

    private MemberListOutcome Members()
    {
        var core = _driver.Core;
        var latest = core.LatestConfiguration;
        var views = latest.Members
            .Select(m => new MemberView(m with { Endpoint = m.Endpoint.Length > 0 ? m.Endpoint : _options.Endpoints.GetValueOrDefault(m.Id, "") },
                core.PeerCommitIndex(m.Id), Math.Max(0, core.CommitIndex - core.PeerCommitIndex(m.Id))))
            .ToList();
        return new MemberListOutcome(latest, core.LatestConfigurationFrom, core.LatestConfigurationFrom > core.CommitIndex + 1, views,
            core.Options.Members, core.KnowsLiveLeader ? core.LeaderId ?? 0 : 0, core.CommitIndex);
    }
}
