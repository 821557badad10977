using Synod.Protocol;

namespace Synod.Client;

/// <summary>One member of the cluster's configuration, as the answering replica knows it.</summary>
public sealed record SynodMember(int Id, string Endpoint, bool Voter, long Applied, long Lag)
{
    public string Role => Voter ? "voter" : "learner";
}

/// <summary>
/// The cluster's configuration as one replica knows it: its members, its revision and the slot it governs from
/// (<paramref name="Pending"/>: chosen, not in effect yet), the first configuration's voters and the largest id ever used.
/// </summary>
public sealed record SynodMembers(
    IReadOnlyList<SynodMember> Members, long Revision, long EffectiveFrom, bool Pending, IReadOnlyList<int> InitialVoters, int IdMax,
    ulong ClusterId, int ServedBy, int LeaderId, long CommitIndex);

/// <summary>What a membership change asks for.</summary>
public enum SynodMemberChange
{
    AddLearner,
    Promote,
    Remove,
    SetEndpoint,
}

/// <summary>Membership (docs/api.md, "Membership"; docs/protocol.md, "Membership").</summary>
public sealed partial class SynodClient
{
    /// <summary>The configuration as the replica that answers knows it (any replica answers).</summary>
    public async Task<SynodMembers> MembersAsync(SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var history = new AttemptHistory("member list", isWrite: false);
        var (response, endpoint) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.MemberListAsync(new MemberListRequest(), callOptions), cancellationToken);
        NoteServedBy(endpoint, response.ServedBy);
        return ToMembers(response);
    }

    /// <summary>
    /// One membership change, made by the leader (the client finds it, even one that is not among its endpoints: the
    /// configuration names its endpoint); answered once the change is chosen, with the configuration it made. The change
    /// governs from <see cref="SynodMembers.EffectiveFrom"/> on. Removing the leader first moves leadership to another
    /// voter (the old leader answers "not the leader", naming it), and the request follows it there.
    /// </summary>
    /// <exception cref="SynodInvalidArgumentException">The change was refused; the message says why (another change pending, an id used before, a learner that lags, no quorum left...).</exception>
    public async Task<SynodMembers> ChangeMemberAsync(
        SynodMemberChange change, int id, string endpoint = "", SynodCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = new MemberChangeRequest
        {
            Kind = change switch
            {
                SynodMemberChange.AddLearner => MemberChangeRequest.Types.Kind.AddLearner,
                SynodMemberChange.Promote => MemberChangeRequest.Types.Kind.Promote,
                SynodMemberChange.Remove => MemberChangeRequest.Types.Kind.Remove,
                _ => MemberChangeRequest.Types.Kind.SetEndpoint,
            },
            Id = (uint)id,
            Endpoint = endpoint,
        };

        var operationTimeout = OperationTimeout(options);
        var started = _time.GetTimestamp();
        while (true)
        {
            var leaderEndpoint = await FindLeaderAsync(options, cancellationToken);
            // A few attempts per round: a replica that names a leader this client cannot reach by id sends it round again.
            var remaining = operationTimeout - _time.GetElapsedTime(started);
            var perRound = 3 * _options.AttemptTimeout;
            var call = (options ?? new SynodCallOptions()) with { OperationTimeout = remaining < perRound ? remaining : perRound };
            try
            {
                if (leaderEndpoint is not null)
                {
                    // The leader is not one of this client's endpoints (it joined later): ask it directly.
                    await using var direct = new SynodClient(_options with { Endpoints = [leaderEndpoint] }, _time);
                    return await direct.ChangeAtAsync(request, change, call with { PinnedEndpointIndex = 0 }, cancellationToken);
                }

                return await ChangeAtAsync(request, change, call, cancellationToken);
            }
            catch (SynodUnavailableException) when (_time.GetElapsedTime(started) < operationTimeout)
            {
                // Leadership moved (a handover, or an election) to a replica this client did not know: look again.
            }
        }
    }

    private async Task<SynodMembers> ChangeAtAsync(MemberChangeRequest request, SynodMemberChange change, SynodCallOptions options, CancellationToken cancellationToken)
    {
        var history = new AttemptHistory($"member {change.ToString().ToLowerInvariant()}", isWrite: true);
        var (response, _) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.MemberChangeAsync(request, callOptions), cancellationToken);
        return ToMembers(response.Configuration) with { EffectiveFrom = (long)response.EffectiveFrom };
    }

    /// <summary>
    /// Asks every endpoint for the configuration, so that a refusal naming the leader leads straight to it: null if the
    /// leader is one of this client's endpoints (or none is known), else the leader's endpoint as the configuration gives it.
    /// </summary>
    private async Task<string?> FindLeaderAsync(SynodCallOptions? options, CancellationToken cancellationToken)
    {
        var leaders = new List<(int Leader, SynodMembers Members)>();
        for (var i = 0; i < _endpoints.Length; i++)
        {
            try
            {
                var probe = (options ?? new SynodCallOptions()) with { PinnedEndpointIndex = i, OperationTimeout = _options.AttemptTimeout };
                var (listed, _) = await CallAsync(new AttemptHistory("member list", isWrite: false), probe, ReadOnlyMemory<byte>.Empty,
                    (client, callOptions) => client.MemberListAsync(new MemberListRequest(), callOptions), cancellationToken);
                Volatile.Write(ref _servedByAt[i], listed.ServedBy);
                if (listed.LeaderId != 0)
                {
                    leaders.Add(((int)listed.LeaderId, ToMembers(listed)));
                }
            }
            catch (SynodException)
            {
                // A replica that is down is no leader.
            }
        }

        // The leader named by the replica that knows the most slots chosen.
        if (leaders.Count == 0)
        {
            return null;
        }

        var (leader, members) = leaders.MaxBy(l => l.Members.CommitIndex);
        if (_servedByAt.Any(served => served == leader))
        {
            return null;
        }

        var known = members.Members.FirstOrDefault(m => m.Id == leader)?.Endpoint;
        return string.IsNullOrEmpty(known) ? null : known;
    }

    private static SynodMembers ToMembers(MemberListResponse response) => new(
        [.. response.Members.Select(m => new SynodMember((int)m.Id, m.Endpoint, m.Voter, (long)m.Applied, (long)m.Lag))],
        response.Revision, (long)response.EffectiveFrom, response.Pending, [.. response.InitialVoters.Select(v => (int)v)], (int)response.IdMax,
        response.ClusterId, (int)response.ServedBy, (int)response.LeaderId, (long)response.CommitIndex);
}
