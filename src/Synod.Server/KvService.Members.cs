using Grpc.Core;
using Synod.Driver;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>Membership (synod member ...): the configuration as this replica knows it, and one change at a time at the leader.</summary>
internal sealed partial class KvService
{
    public override async Task<MemberListResponse> MemberList(MemberListRequest request, ServerCallContext context)
    {
        var completion = ReplicaHost.NewAnswerCompletion<MemberListOutcome>();
        return ToResponse(await ReadAsync(new MemberListInput(completion), completion, context));
    }

    public override async Task<MemberChangeResponse> MemberChange(MemberChangeRequest request, ServerCallContext context)
    {
        auth.RequireRoot(auth.UserOf(context), "change the cluster's members");
        if (request.Id < 1 || request.Id > Synod.Core.Configuration.ReplicaIdMax)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"replica id {request.Id} lies outside 1..{Synod.Core.Configuration.ReplicaIdMax}."));
        }

        if (System.Text.Encoding.UTF8.GetByteCount(request.Endpoint) > Synod.Core.Configuration.EndpointBytesMax ||
            (request.Endpoint.Length > 0 && !HostPort.TryParse(request.Endpoint, out _, out _, out _)))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the endpoint '{request.Endpoint}' is not HOST:PORT (at most {Synod.Core.Configuration.EndpointBytesMax} bytes)."));
        }

        var kind = request.Kind switch
        {
            MemberChangeRequest.Types.Kind.AddLearner => MembershipChangeKind.AddLearner,
            MemberChangeRequest.Types.Kind.Promote => MembershipChangeKind.Promote,
            MemberChangeRequest.Types.Kind.Remove => MembershipChangeKind.Remove,
            MemberChangeRequest.Types.Kind.SetEndpoint => MembershipChangeKind.SetEndpoint,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"unknown membership change {request.Kind}.")),
        };
        var completion = ReplicaHost.NewAnswerCompletion<MembershipOutcome>();
        MembershipOutcome outcome;
        try
        {
            outcome = await ReadAsync(new MemberChangeInput(new MembershipChange(kind, (int)request.Id, request.Endpoint), completion), completion, context);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            throw NotTheLeader("does not lead, and only the leader changes the membership", "no leader is known (an election is under way)");
        }

        if (outcome.Refusal is { } refusal)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"replica {options.Id} refuses the change: {refusal}."));
        }

        var listed = ReplicaHost.NewAnswerCompletion<MemberListOutcome>();
        var list = await ReadAsync(new MemberListInput(listed), listed, context);
        return new MemberChangeResponse { Configuration = ToResponse(list), Slot = (ulong)outcome.Slot, EffectiveFrom = (ulong)outcome.EffectiveFrom };
    }

    private MemberListResponse ToResponse(MemberListOutcome outcome)
    {
        var response = new MemberListResponse
        {
            Revision = outcome.Configuration.Revision,
            EffectiveFrom = (ulong)outcome.EffectiveFrom,
            Pending = outcome.Pending,
            IdMax = (uint)outcome.Configuration.IdMax,
            ClusterId = options.ClusterId,
            ServedBy = (uint)options.Id,
            LeaderId = (uint)outcome.LeaderId,
            CommitIndex = (ulong)outcome.CommitIndex,
        };
        response.InitialVoters.AddRange(outcome.InitialVoters.Select(id => (uint)id));
        response.Members.AddRange(outcome.Members.Select(view => new Member
        {
            Id = (uint)view.Member.Id,
            Endpoint = view.Member.Endpoint,
            Voter = view.Member.Voter,
            Applied = (ulong)view.Applied,
            Lag = (ulong)view.Lag,
        }));
        return response;
    }
}
