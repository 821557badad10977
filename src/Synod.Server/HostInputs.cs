using Synod.Core.Messages;
using Synod.Driver;
using Synod.Kv;
using Synod.Storage;

namespace Synod.Server;

/// <summary>Something for the owner loop to do. Only the owner loop touches the core and the state machine.</summary>
internal abstract record HostInput;

/// <summary>
/// A client's request: it took one of the owner loop's client slots when it was posted (ReplicaHost.PostAsync), and
/// the loop gives the slot back when it takes the input. Every input a client's call posts derives from this, so that
/// none can forget to.
/// </summary>
internal abstract record ClientInput : HostInput;

/// <summary>A peer's message; <paramref name="Lent"/>, the pooled array its snapshot chunk was read into (PeerFrameDecoder), given back once it was stepped or dropped.</summary>
internal sealed record PeerInput(Message Message, byte[]? Lent = null) : HostInput;

internal sealed record TickInput : HostInput
{
    public static readonly TickInput Instance = new();
}

/// <summary>A write: the encoded command and who waits for its result.</summary>
internal sealed record ProposeInput(ulong ClientId, ulong Sequence, byte[] Command, TaskCompletionSource<WriteOutcome> Completion) : ClientInput;

internal sealed record ReadInput(byte[] Key, bool Stale, TaskCompletionSource<ReadOutcome> Completion, long Revision = 0) : ClientInput;

internal sealed record RangeInput(KvRange Range, bool Stale, TaskCompletionSource<RangeOutcome> Completion, long Revision = 0) : ClientInput;

internal sealed record WatchCreateInput(WatchStream Stream, long WatchId, KvRange Range, long StartRevision, bool ProgressNotify, string? User, WatchSignIn? SignIn) : ClientInput;

internal sealed record WatchCancelInput(WatchStream Stream, long WatchId) : ClientInput;

internal sealed record WatchProgressInput(WatchStream Stream) : ClientInput;

internal sealed record WatchClosedInput(WatchStream Stream) : HostInput;

/// <summary>A keep-alive (or, without <paramref name="KeepAlive"/>, a TTL query) of one lease.</summary>
internal sealed record LeaseInput(long Id, bool KeepAlive, bool Keys, TaskCompletionSource<LeaseOutcome> Completion) : ClientInput;

internal sealed record LeaseListInput(int Max, TaskCompletionSource<LeaseListOutcome> Completion) : ClientInput;

/// <summary>The configuration as this replica knows it (synod member list).</summary>
internal sealed record MemberListInput(TaskCompletionSource<MemberListOutcome> Completion) : ClientInput;

/// <summary>One membership change, for the leader's driver (synod member add|promote|remove|update).</summary>
internal sealed record MemberChangeInput(MembershipChange Change, TaskCompletionSource<MembershipOutcome> Completion) : ClientInput;

internal sealed record StatusInput(TaskCompletionSource<HostStatus> Completion) : ClientInput;

/// <summary>A snapshot file finished writing on another thread; the owner compacts the log behind it.</summary>
internal sealed record SnapshotWrittenInput(SnapshotWrite Write, Exception? Failure) : HostInput;

/// <summary>The files a compaction let go were deleted on another thread (or that failed).</summary>
internal sealed record CleanupDoneInput(StorageCleanup Cleanup, Exception? Failure) : HostInput;

/// <summary>The state machine's snapshot was serialised on another thread; the owner hands it to the core.</summary>
internal sealed record SnapshotSerializedInput(KvStateMachine StateMachine, KvSnapshotJob Job, SnapshotMemory? Memory, Exception? Failure) : HostInput;

/// <summary>A stopping replica asks its driver to hand leadership over (a follower: nothing to do); the answer is why not, or null.</summary>
internal sealed record HandOverInput(TaskCompletionSource<string?> Completion) : HostInput;

/// <summary>A stopping replica asks what still keeps it: its role, the leader it knows and the requests still waiting.</summary>
internal sealed record DrainInput(TaskCompletionSource<DrainView> Completion) : HostInput;

/// <summary>What a stopping replica waits for: another leader, and no client request left unanswered.</summary>
internal sealed record DrainView(bool Leads, int? HandoverTarget, int KnownLeader, int Waiting, string? LastHandoverFailure = null);
