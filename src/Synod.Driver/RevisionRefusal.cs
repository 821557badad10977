namespace Synod.Driver;

/// <summary>
/// Why a read at a past revision was not served: the revision is compacted (before <paramref name="CompactRevision"/>)
/// or in the future (past <paramref name="Revision"/>, the replica's applied revision). <paramref name="Message"/> says
/// which, with the numbers.
/// </summary>
public sealed record RevisionRefusal(string Message, bool Compacted, long CompactRevision, long Revision)
{
    /// <summary>The refusal of a read of <paramref name="kv"/> at <paramref name="revision"/>, or null if it may be served.</summary>
    public static RevisionRefusal? Of(Synod.Kv.KvStateMachine kv, long revision) =>
        kv.RevisionProblem(revision, out var compacted) is { } problem ? new RevisionRefusal(problem, compacted, kv.CompactRevision, kv.Revision) : null;
}
