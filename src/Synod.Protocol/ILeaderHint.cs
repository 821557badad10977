namespace Synod.Protocol;

/// <summary>
/// An answer that names the replica that served it and the leader it knows, so a client can send its next
/// requests straight to the leader instead of through a follower.
/// </summary>
public interface ILeaderHint
{
    uint ServedBy { get; }

    /// <summary>0 when the answering replica knows no leader.</summary>
    uint LeaderId { get; }
}

/// <summary>The generated message already has both fields.</summary>
public sealed partial class PutResponse : ILeaderHint;

/// <summary>The generated message already has both fields.</summary>
public sealed partial class GetResponse : ILeaderHint;

/// <summary>The generated message already has both fields.</summary>
public sealed partial class DeleteResponse : ILeaderHint;

/// <summary>The generated message already has both fields.</summary>
public sealed partial class RegisterResponse : ILeaderHint;

/// <summary>The generated message already has both fields.</summary>
public sealed partial class MemberListResponse : ILeaderHint;
