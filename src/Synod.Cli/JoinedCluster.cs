using Synod.Client;

namespace Synod.Cli;

/// <summary>
/// `serve --join`: what a replica added as a learner needs from the running cluster before it starts: the members it
/// can reach (and its own endpoint), the voters of the cluster's first configuration (the core and the cluster id start
/// from them) and the largest id used so far.
/// </summary>
internal sealed record JoinedCluster(ClusterConfig Cluster, IReadOnlyList<int> InitialVoters, int IdMax, ulong ClusterId, bool Voter)
{
    public static async Task<JoinedCluster> FetchAsync(int id, string endpoints, string? clusterToken, CancellationToken cancellation)
    {
        var list = endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length == 0)
        {
            throw new FormatException("--join needs HOST:PORT of at least one replica of the cluster.");
        }

        // The configuration as the replica that knows the most slots chosen has it: a lagging one may not know yet that
        // this replica was added, or promoted (and a voter must not start empty).
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = list });
        SynodMembers? members = null;
        SynodException? failure = null;
        for (var i = 0; i < list.Length; i++)
        {
            try
            {
                var listed = await client.MembersAsync(new SynodCallOptions { PinnedEndpointIndex = i }, cancellation);
                members = members is null || listed.CommitIndex > members.CommitIndex ? listed : members;
            }
            catch (SynodException e)
            {
                failure = e;
            }
        }

        if (members is null)
        {
            throw failure!;
        }

        var self = members.Members.FirstOrDefault(m => m.Id == id) ??
            throw new FormatException($"replica {id} is not a member of the cluster at {endpoints} (members: {string.Join(",", members.Members.Select(m => m.Id))}); add it first: synod member add {id}=HOST:PORT.");
        if (self.Endpoint.Length == 0)
        {
            throw new FormatException($"replica {id} is a member of the cluster's first configuration; start it with --peers, not --join.");
        }

        var replicas = members.Members.Where(m => m.Endpoint.Length > 0)
            .Select(m => new ClusterConfig.ReplicaEntry { Id = m.Id, Endpoint = m.Endpoint })
            .ToList();
        return new JoinedCluster(new ClusterConfig { Replicas = replicas, ClusterToken = clusterToken }, members.InitialVoters, members.IdMax, members.ClusterId, self.Voter);
    }
}
