namespace Synod.Core;

/// <summary>One replica of a <see cref="Configuration"/>: its id, whether it votes, and where peers reach it.</summary>
public sealed record ConfigurationMember(int Id, bool Voter, string Endpoint);

/// <summary>
/// Who takes part in the slots a configuration governs (docs/protocol.md, "Membership"): voters, whose quorums choose
/// values and confirm reads, and learners, which receive the log but are never counted. <see cref="Revision"/> counts
/// the changes chosen since the cluster began (0 is the configuration it started with), and <see cref="IdMax"/> is the
/// largest id any configuration ever held, so an id that left is never taken by another replica.
/// </summary>
public sealed class Configuration
{
    /// <summary>The longest endpoint a configuration stores, in UTF-8 bytes (a host name and a port).</summary>
    public const int EndpointBytesMax = 300;

    /// <summary>The largest replica id: far above any cluster's count of replicas ever used, and small enough to stay in every message's bounds.</summary>
    public const int ReplicaIdMax = 1_000_000;

    public Configuration(long revision, IEnumerable<ConfigurationMember> members, int idMax)
    {
        Revision = revision;
        Members = [.. members.OrderBy(m => m.Id)];
        Voters = [.. Members.Where(m => m.Voter).Select(m => m.Id)];
        Learners = [.. Members.Where(m => !m.Voter).Select(m => m.Id)];
        IdMax = Math.Max(idMax, Members.Count == 0 ? 0 : Members[^1].Id);
    }

    public long Revision { get; }

    public IReadOnlyList<ConfigurationMember> Members { get; }

    public IReadOnlyList<int> Voters { get; }

    public IReadOnlyList<int> Learners { get; }

    public int IdMax { get; }

    /// <summary>The configuration a cluster starts with: every member a voter, endpoints known only to the shell.</summary>
    public static Configuration Initial(IEnumerable<int> voters) =>
        new(0, voters.Select(id => new ConfigurationMember(id, Voter: true, Endpoint: "")), 0);

    public bool IsVoter(int id) => Voters.Contains(id);

    public bool Contains(int id) => Members.Any(m => m.Id == id);

    public ConfigurationMember? Member(int id) => Members.FirstOrDefault(m => m.Id == id);

    public int QuorumSize(bool smallQuorumBug) => smallQuorumBug ? Voters.Count / 2 : (Voters.Count / 2) + 1;

    /// <summary>Whether the voters among <paramref name="ids"/> are a quorum of this configuration (learners never count).</summary>
    public bool IsQuorum(IEnumerable<int> ids, bool smallQuorumBug, bool learnersVote = false)
    {
        var count = 0;
        foreach (var id in ids)
        {
            if (IsVoter(id) || (learnersVote && Contains(id)))
            {
                count++;
            }
        }

        return count >= QuorumSize(smallQuorumBug);
    }

    public bool SameMembers(Configuration other) =>
        Members.Count == other.Members.Count && Members.Zip(other.Members).All(pair => pair.First == pair.Second);

    public override string ToString() =>
        $"revision {Revision}: voters [{string.Join(",", Voters)}]" + (Learners.Count > 0 ? $", learners [{string.Join(",", Learners)}]" : "");
}
