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
        var outcomeUnknown = false;
        SynodUnavailableException? last = null;
        bool? madeBefore = null;
        for (var round = 0; ; round++)
        {
            var remaining = operationTimeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero && last is not null)
            {
                throw last;
            }

            var (leaderEndpoint, known) = await FindLeaderAsync(options, remaining, cancellationToken);
            madeBefore ??= known is null ? null : Reflects(known, change, id, endpoint);
            if (outcomeUnknown && madeBefore == false && known is not null && Reflects(known, change, id, endpoint))
            {
                // An earlier round's attempt may have been chosen, and the configuration shows the change made: done.
                return known;
            }

            remaining = operationTimeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw last ?? new SynodUnavailableException(
                    $"the member {change.ToString().ToLowerInvariant()} found no replica to ask within {operationTimeout.TotalSeconds:0.#} s.",
                    new FailureSummary(_time.GetElapsedTime(started), 0, outcomeUnknown, null, null, null));
            }

            var call = (options ?? new SynodCallOptions()) with { OperationTimeout = remaining, LeaveForUnknownLeader = true };
            try
            {
                if (leaderEndpoint is null)
                {
                    return await ChangeAtAsync(request, change, call, cancellationToken);
                }

                // The leader is not one of this client's endpoints (it joined later): ask it directly, for one attempt's
                // time; if it cannot be reached, it may have died since, and the next round looks for the leader again.
                await using var direct = new SynodClient(_options with { Endpoints = [leaderEndpoint] }, _time);
                try
                {
                    return await direct.ChangeAtAsync(request, change, call with { PinnedEndpointIndex = 0 }, cancellationToken);
                }
                catch (SynodUnreachableException e) when (_time.GetElapsedTime(started) + _options.AttemptTimeout < operationTimeout)
                {
                    throw new LeaderElsewhereException(0, outcomeUnknown: false, e);
                }
            }
            catch (SynodInvalidArgumentException) when (madeBefore == false)
            {
                // Refused as already made ("already a learner", "not a member"), perhaps by a retry of an attempt that
                // was in fact chosen: the configuration before the first attempt did not show it; if it does now, done.
                if ((await FindLeaderAsync(options, _options.AttemptTimeout, cancellationToken)).Members is { } now && Reflects(now, change, id, endpoint))
                {
                    return now;
                }

                throw;
            }
            catch (LeaderElsewhereException e)
            {
                // Leadership moved (a handover, or an election) to a replica this client did not know: look it up in
                // the configuration, after a pause, and ask it.
                outcomeUnknown |= e.OutcomeUnknown;
                last = e.Summary;
                var pause = RetryBackoff.Delay(round, _options.RetryBackoff, _options.RetryBackoffMax, Random.Shared.NextDouble());
                remaining = operationTimeout - _time.GetElapsedTime(started);
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(pause < remaining ? pause : remaining, _time, cancellationToken);
                }
            }
        }
    }

    /// <summary>Whether <paramref name="members"/> already shows <paramref name="change"/> made.</summary>
    private static bool Reflects(SynodMembers members, SynodMemberChange change, int id, string endpoint)
    {
        var member = members.Members.FirstOrDefault(m => m.Id == id);
        return change switch
        {
            SynodMemberChange.Remove => member is null,
            SynodMemberChange.Promote => member is { Voter: true },
            _ => member is not null && member.Endpoint == endpoint,
        };
    }

    private async Task<SynodMembers> ChangeAtAsync(MemberChangeRequest request, SynodMemberChange change, SynodCallOptions options, CancellationToken cancellationToken)
    {
        var history = new AttemptHistory($"member {change.ToString().ToLowerInvariant()}", isWrite: true);
        var (response, _) = await CallAsync(
            history, options, ReadOnlyMemory<byte>.Empty, (client, callOptions) => client.MemberChangeAsync(request, callOptions), cancellationToken);
        return ToMembers(response.Configuration) with { EffectiveFrom = (long)response.EffectiveFrom };
    }

    /// <summary>
    /// Asks every endpoint for the configuration (within <paramref name="remaining"/>), so that a refusal naming the
    /// leader leads straight to it. Returns the leader's endpoint as the configuration gives it if the leader is not one
    /// of this client's endpoints (else null), and the configuration as the replica that knows the most slots chosen has it.
    /// </summary>
    private async Task<(string? LeaderEndpoint, SynodMembers? Members)> FindLeaderAsync(SynodCallOptions? options, TimeSpan remaining, CancellationToken cancellationToken)
    {
        var best = await MostAdvancedMembersAsync(options, remaining, cancellationToken);
        if (best is null || best.LeaderId == 0 || _servedByAt.Any(served => served == best.LeaderId))
        {
            return (null, best);
        }

        var known = best.Members.FirstOrDefault(m => m.Id == best.LeaderId)?.Endpoint;
        return (string.IsNullOrEmpty(known) ? null : known, best);
    }

    /// <summary>
    /// Asks every endpoint for the configuration, each for at most one attempt (<see cref="SynodClientOptions.AttemptTimeout"/>)
    /// and all within <paramref name="budget"/>, and returns it as the replica that knows the most slots chosen has it
    /// (a lagging replica may not know the latest members yet); null if none answered.
    /// </summary>
    public Task<SynodMembers?> MostAdvancedMembersAsync(TimeSpan budget, CancellationToken cancellationToken = default) =>
        MostAdvancedMembersAsync(null, budget, cancellationToken);

    private async Task<SynodMembers?> MostAdvancedMembersAsync(SynodCallOptions? options, TimeSpan budget, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        SynodMembers? best = null;
        for (var i = 0; i < _endpoints.Length; i++)
        {
            var left = budget - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            try
            {
                var probe = (options ?? new SynodCallOptions()) with { PinnedEndpointIndex = i, OperationTimeout = left < _options.AttemptTimeout ? left : _options.AttemptTimeout };
                var (listed, _) = await CallAsync(new AttemptHistory("member list", isWrite: false), probe, ReadOnlyMemory<byte>.Empty,
                    (client, callOptions) => client.MemberListAsync(new MemberListRequest(), callOptions), cancellationToken);
                Volatile.Write(ref _servedByAt[i], listed.ServedBy);
                var members = ToMembers(listed);
                if (best is null || members.CommitIndex > best.CommitIndex)
                {
                    best = members;
                }
            }
            catch (SynodException)
            {
                // Down or starting: the others answer.
            }
        }

        return best;
    }

    private static SynodMembers ToMembers(MemberListResponse response) => new(
        [.. response.Members.Select(m => new SynodMember((int)m.Id, m.Endpoint, m.Voter, (long)m.Applied, (long)m.Lag))],
        response.Revision, (long)response.EffectiveFrom, response.Pending, [.. response.InitialVoters.Select(v => (int)v)], (int)response.IdMax,
        response.ClusterId, (int)response.ServedBy, (int)response.LeaderId, (long)response.CommitIndex);
}
