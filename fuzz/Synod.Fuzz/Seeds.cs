using System.Text;
using Google.Protobuf;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Kv;
using Synod.Server;

namespace Synod.Fuzz;

/// <summary>
/// Valid encodings to start the fuzzer from, made by the product's own encoders (the same ones DecoderFuzzTests makes).
/// `synod-fuzz seeds DIR` writes them to DIR/TARGET/; fuzz/seeds holds the output, so a run needs no build to seed.
/// </summary>
internal static class Seeds
{
    public static IReadOnlyList<byte[]> KvCommands() =>
    [
        new KvCommand(1, 1, KvOperation.Put, "key"u8.ToArray(), "value"u8.ToArray()).Encode(),
        new KvCommand(1, 2, KvOperation.Delete, "key"u8.ToArray(), []).Encode(),
        KvCommand.GrantLease(1, 3, 7, 30).Encode(),
        KvCommand.CompactTo(1, 4, 10).Encode(),
        (new KvCommand(1, 5, KvOperation.Put, "key"u8.ToArray(), "value"u8.ToArray()) with { User = "alice" }).Encode(),
        .. AuthChangeList().Select((change, i) => KvCommand.ChangeAuth(1, 6 + (ulong)i, change, "root").Encode()),
    ];

    public static IReadOnlyList<byte[]> AuthChanges() => [.. AuthChangeList().Select(change => change.Encode())];

    public static IReadOnlyList<byte[]> Snapshots() => [PlainSnapshot(), AuthSnapshot()];

    public static IReadOnlyList<byte[]> WalRecords() =>
    [
        StorageInternals.Encode(new PromiseOp(new Ballot(2, 1))),
        StorageInternals.Encode(new IncarnationOp(2, 3)),
        StorageInternals.Encode(new VoterOp(new Ballot(4, 2))),
        StorageInternals.Encode(new AcceptOp(6, new Ballot(3, 2), [Encoding.UTF8.GetBytes("put a 1"), []])),
    ];

    public static IReadOnlyList<byte[]> PeerMessages()
    {
        var ballot = new Ballot(3, 2);
        Message[] messages =
        [
            new Prepare(2, 1, ballot, 5),
            new Accept(2, 1, ballot, 6, [Encoding.UTF8.GetBytes("put a 1"), []], 5),
            new Heartbeat(2, 1, ballot, true, 5, 4, Phase1Slot: 5),
            new CatchUpReply(2, 1, [new ChosenEntry(1, [Encoding.UTF8.GetBytes("x")])], 1),
            new VoterQuery(2, 1, 1, 4096),
        ];
        return [.. messages.Select(m => PeerMessageCodec.Encode(m).ToByteArray())];
    }

    private static KvAuthChange[] AuthChangeList() =>
    [
        new(KvAuthChangeKind.UserAdd, Name: "root", SecretBytes: [1, 2, 3]),
        new(KvAuthChangeKind.RoleAdd, Role: "app"),
        new(KvAuthChangeKind.RoleGrant, Role: "app", Permission: KvPermission.OnPrefix(KvPermissionKind.ReadWrite, "app/"u8.ToArray())),
        new(KvAuthChangeKind.UserGrantRole, Name: "root", Role: "app"),
        new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]),
    ];

    /// <summary>A snapshot with keys, a session, a lease and users and roles.</summary>
    private static byte[] PlainSnapshot()
    {
        var machine = new KvStateMachine();
        byte[][] commands = [new KvCommand(0, 1, KvOperation.Register, [], []).Encode(), .. KvCommands()];
        for (var i = 0; i < commands.Length; i++)
        {
            machine.ApplySlot(i + 1, [commands[i]]);
        }

        return machine.Snapshot();
    }

    /// <summary>A snapshot of format 7: users, roles, authentication on, a user's session, and a lease with its granter and a key.</summary>
    private static byte[] AuthSnapshot()
    {
        var machine = new KvStateMachine();
        var slot = 0L;
        AppliedCommand Apply(KvCommand command) => machine.ApplySlot(++slot, [command.Encode()])[0];
        var admin = Apply(new KvCommand(0, 1, KvOperation.Register, [], [])).RegisteredClientId;
        ulong sequence = 0;
        foreach (var change in new KvAuthChange[]
        {
            new(KvAuthChangeKind.UserAdd, Name: KvAuth.RootUser, SecretBytes: [1, 2]),
            new(KvAuthChangeKind.UserAdd, Name: "alice", SecretBytes: [3]),
            new(KvAuthChangeKind.RoleAdd, Role: "app"),
            new(KvAuthChangeKind.RoleGrant, Role: "app", Permission: KvPermission.OnPrefix(KvPermissionKind.ReadWrite, "app/"u8.ToArray())),
            new(KvAuthChangeKind.UserGrantRole, Name: "alice", Role: "app"),
            new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]),
        })
        {
            Apply(KvCommand.ChangeAuth(admin, ++sequence, change, KvAuth.RootUser));
        }

        var alice = Apply(new KvCommand(0, 2, KvOperation.Register, [], []) { User = "alice" }).RegisteredClientId;
        Apply(KvCommand.GrantLease(alice, 1, 9, 30) with { User = "alice" });
        Apply(new KvCommand(alice, 2, KvOperation.Put, "app/x"u8.ToArray(), "v"u8.ToArray()) { User = "alice", Lease = 9 });
        return machine.Snapshot();
    }
}
