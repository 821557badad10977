using Synod.Client;

namespace Synod.Cli;

/// <summary>
/// `serve --rebuild-from-peers` is refused once the cluster's membership has changed (docs/protocol.md, "Membership",
/// what is left out): a replica that lost its disk counts its floor and its life among the first configuration's
/// voters, and after two voter changes those can miss every replica that knows a promise it made. Until the rebuild
/// rules follow the configurations, such a replica is removed and a new one added in its place.
/// </summary>
internal static class RebuildCheck
{
    /// <summary>How long to wait for a peer to answer (peers started at the same moment need a little time).</summary>
    private static readonly TimeSpan PatienceMax = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Why replica <paramref name="id"/> may not rebuild, or null; <paramref name="unreachable"/> when no peer answered.</summary>
    public static async Task<string?> RefusalAsync(int id, IReadOnlyDictionary<int, string> endpoints, SynodClientTls? tls, CancellationToken cancellation)
    {
        var peers = endpoints.Where(e => e.Key != id).OrderBy(e => e.Key).Select(e => e.Value).ToList();
        if (peers.Count == 0)
        {
            return null;
        }

        await using var client = new SynodClient(new SynodClientOptions { Endpoints = peers, AttemptTimeout = AttemptTimeout, Tls = tls });
        var until = DateTime.UtcNow + PatienceMax;
        while (true)
        {
            var members = await client.MostAdvancedMembersAsync(AttemptTimeout * peers.Count, cancellation);

            if (members is not null)
            {
                return members.Revision == 0
                    ? null
                    : $"replica {id} cannot rebuild from its peers: the cluster's membership has changed (configuration revision {members.Revision}), and rebuilding a replica that lost its data is not yet safe after a membership change. Remove it (synod member remove {id}) and add a new replica with a new id in its place (synod member add, or synod cluster add).";
            }

            if (DateTime.UtcNow > until)
            {
                throw new SynodUnreachableException(
                    $"replica {id} cannot rebuild from its peers: none of {string.Join(", ", peers)} answered within {PatienceMax.TotalSeconds:0} s (it must check that the membership has not changed)",
                    new FailureSummary(PatienceMax, peers.Count, false, null, null, null));
            }

            await Task.Delay(500, cancellation);
        }
    }
}
