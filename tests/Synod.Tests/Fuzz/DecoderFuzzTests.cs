using System.Text;
using CsCheck;
using Google.Protobuf;
using Synod.Checker;
using Synod.Cli;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Core.Persistence;
using Synod.Kv;
using Synod.Protocol.Peer;
using Synod.Server;
using Synod.Tests.Peers;
using Synod.Storage;

namespace Synod.Tests.Fuzz;

/// <summary>
/// Issue 18, hostile input: every decoder that reads bytes from outside (a peer, a client, a file) is fed random bytes and
/// mutations of valid encodings (the corpus in Fuzz/corpus and encodings made here), and may only return a value or throw
/// the one exception its caller turns into a refusal; anything else (an IndexOutOfRangeException, an OverflowException,
/// an OutOfMemoryException) would end a connection loop or a start with a crash. CsCheck generates and shrinks the
/// inputs. `dotnet test` runs each target for about a second; `SYNOD_FUZZ_SECONDS=600 dotnet test tests/Synod.Tests
/// --filter FullyQualifiedName~Fuzz` runs each for ten minutes (docs/security.md, "Fuzzing").
/// </summary>
public sealed class DecoderFuzzTests
{
    /// <summary>Seconds each target runs: SYNOD_FUZZ_SECONDS, else 1.</summary>
    private static int Seconds =>
        int.TryParse(Environment.GetEnvironmentVariable("SYNOD_FUZZ_SECONDS"), out var seconds) && seconds > 0 ? seconds : 1;

    private const int InputBytesMax = 4_096;

    private static readonly PeerFrameDecoder Frames = new(new ReplicaOptions { Id = 1, Members = [1] }.SnapshotChunkBytes);

    [Fact]
    public void Peer_messages_decode_or_are_refused_as_malformed() =>
        Fuzz("peer-message", PeerMessageSeeds(), bytes =>
        {
            // The receiver's decoder (a snapshot chunk read without the parser) means what the parser means, or throws alike.
            Message? parsed = null;
            Exception? refused = null;
            try
            {
                parsed = PeerMessageCodec.Decode(2, PeerMessage.Parser.ParseFrom(bytes));
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
            {
                refused = e;
            }

            Message message;
            byte[]? lent = null;
            try
            {
                message = Frames.Decode(2, SplitSequence.Of(bytes, 3), out lent);
                Assert.True(refused is null, $"the receiver's decoder took a frame the parser refuses ({refused?.Message})");
                Assert.Equal(PeerFrameDecoderTests.Describe(parsed!), PeerFrameDecoderTests.Describe(message));
                _ = PeerMessageRules.Violation(message, new ReplicaOptions { Id = 1, Members = [1, 2, 3] });
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
            {
                Assert.True(refused is not null, $"the receiver's decoder refused a frame the parser takes ({e.Message})");
                throw;
            }
            finally
            {
                Frames.GiveBack(lent);
            }
        }, typeof(InvalidProtocolBufferException), typeof(FormatException));

    [Fact]
    public void Kv_commands_decode_or_are_refused_as_malformed() =>
        Fuzz("kv-command", KvSeeds(), bytes => KvCommand.Decode(bytes), typeof(KvFormatException));

    [Fact]
    public void Auth_changes_decode_or_are_refused_as_malformed() =>
        Fuzz("kv-auth-change", [.. AuthChangeSeeds().Select(change => change.Encode())], bytes => KvAuthChange.Decode(bytes), typeof(KvFormatException));

    [Fact]
    public void State_machine_snapshots_restore_or_are_refused_as_malformed() =>
        Fuzz("kv-snapshot", [KvSnapshotSeed()], bytes => KvStateMachine.Restore(bytes), typeof(KvFormatException));

    /// <summary>
    /// The snapshot's body behind a good header: each input is sealed again (length and checksum) before it is restored,
    /// so the mutations reach the body's decoders (keys, sessions, history, leases, users and roles, lease owners)
    /// instead of stopping at the checksum.
    /// </summary>
    [Fact]
    public void State_machine_snapshot_bodies_restore_or_are_refused_as_malformed() =>
        Fuzz("kv-snapshot-body", [KvSnapshotSeed(), KvAuthSnapshotSeed()], bytes => KvStateMachine.Restore(Resealed(bytes)), typeof(KvFormatException));

    [Fact]
    public void Configuration_commands_decode_or_say_why_not_without_throwing() =>
        Fuzz("configuration-command", [new ConfigurationCommand(7, 1, [new ConfigurationMember(1, true, ""), new ConfigurationMember(4, false, "host4:7004")]).Encode()],
            bytes => ConfigurationCommand.Decode(bytes, out _));

    [Fact]
    public void Wal_records_decode_or_are_refused_as_malformed() =>
        Fuzz("wal-record", WalRecordSeeds(), bytes => RecordDecoder.Decode(bytes), typeof(MalformedRecordException));

    [Fact]
    public void Wal_segments_are_scanned_without_throwing_whatever_they_hold() =>
        Fuzz("wal-segment", [.. WalRecordSeeds().Select(Framed), [.. WalRecordSeeds().SelectMany(Framed)]], bytes =>
        {
            SegmentScanner.Scan(bytes, lastSegment: true, recordBytesMax: 1 << 20);
            SegmentScanner.Scan(bytes, lastSegment: false, recordBytesMax: 1 << 20);
        });

    [Fact]
    public void Snapshot_files_decode_or_are_refused_naming_the_file() =>
        Fuzz("snapshot-file", [SnapshotFile.Encode(5, "snapshot bytes"u8), SnapshotFile.Encode(1, [])],
            bytes => SnapshotFile.Decode(bytes, "fuzz.snap", 5, 1 << 20), typeof(StorageException));

    [Fact]
    public void Meta_files_decode_or_are_refused_naming_the_file() =>
        Fuzz("meta-file", [MetaFile.Encode(3, 0x1234_5678_9abc_def0)], bytes => MetaFile.Decode(bytes, "synod.meta"), typeof(StorageException));

    [Fact]
    public void History_files_parse_or_are_refused_naming_the_line() =>
        Fuzz("history-jsonl", [HistorySeed()], bytes => HistoryJsonl.Read(new StringReader(Encoding.UTF8.GetString(bytes))), typeof(FormatException));

    [Fact]
    public void Cluster_files_parse_or_are_refused_naming_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"synod-fuzz-{Guid.NewGuid():N}.json");
        try
        {
            Fuzz("cluster-json", [ClusterSeed()], bytes =>
            {
                File.WriteAllBytes(path, bytes);
                ClusterConfig.Load(path);
            }, typeof(FormatException));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Runs <paramref name="decode"/> on random inputs and on mutations of the seeds (and of the corpus files for
    /// <paramref name="target"/>) for <see cref="Seconds"/>; fails, with the smallest input CsCheck finds, if it throws
    /// anything but <paramref name="allowed"/>.
    /// </summary>
    private static void Fuzz(string target, IReadOnlyList<byte[]> seeds, Action<byte[]> decode, params Type[] allowed)
    {
        var corpus = seeds.Concat(CorpusFiles(target)).ToArray();
        foreach (var input in corpus)
        {
            Check(input);
        }

        var random = Gen.Byte.Array[0, InputBytesMax];
        var mutated = Gen.Select(Gen.Int[0, corpus.Length - 1], Gen.UInt, Gen.Int[1, 8]).Select(t => Mutate(corpus[t.Item1], t.Item2, t.Item3));
        Gen.Frequency((1, random), (3, mutated)).Sample(Check, time: Seconds, threads: 1);

        void Check(byte[] input)
        {
            try
            {
                decode(input);
            }
            catch (Exception e) when (allowed.Any(type => type.IsInstanceOfType(e)))
            {
                // Refused as its caller expects.
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"{target}: {e.GetType().Name} ({e.Message}) on input {Convert.ToHexString(input)}", e);
            }
        }
    }

    /// <summary>The seed with <paramref name="count"/> random edits: flipped bits, overwritten, inserted or deleted bytes, a cut end.</summary>
    private static byte[] Mutate(byte[] seed, uint seedOfEdits, int count)
    {
        var random = new Random((int)seedOfEdits);
        var bytes = new List<byte>(seed);
        for (var i = 0; i < count; i++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.InsertRange(at, Enumerable.Range(0, 1 + random.Next(8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(8)));
                    break;
                case 4 when bytes.Count > 0:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    // A field of boundary values: lengths and counts that lie.
                    var lie = random.Next(3) switch { 0 => new byte[] { 0xff, 0xff, 0xff, 0x7f }, 1 => [0, 0, 0, 0x80], _ => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] };
                    bytes.InsertRange(at, lie);
                    break;
            }
        }

        return [.. bytes];
    }

    private static IEnumerable<byte[]> CorpusFiles(string target)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus", target);
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes) : [];
    }

    private static byte[][] PeerMessageSeeds()
    {
        var ballot = new Ballot(3, 2);
        Message[] messages =
        [
            new Prepare(2, 1, ballot, 5),
            new Accept(2, 1, ballot, 6, [Encoding.UTF8.GetBytes("put a 1"), []], 5),
            new Heartbeat(2, 1, ballot, true, 5, 4, Phase1Slot: 5),
            new CatchUpReply(2, 1, [new ChosenEntry(1, [Encoding.UTF8.GetBytes("x")])], 1),
            new VoterQuery(2, 1, 1, 4096),
            new InstallSnapshot(2, 1, 7, 0, 10, Encoding.UTF8.GetBytes("snapshot")),
            new InstallSnapshot(2, 1, -1, long.MinValue, long.MaxValue, new byte[300]),
        ];
        return [.. messages.Select(m => PeerMessageCodec.Encode(m).ToByteArray())];
    }

    private static byte[][] KvSeeds() =>
    [
        new KvCommand(1, 1, KvOperation.Put, "key"u8.ToArray(), "value"u8.ToArray()).Encode(),
        new KvCommand(1, 2, KvOperation.Delete, "key"u8.ToArray(), []).Encode(),
        KvCommand.GrantLease(1, 3, 7, 30).Encode(),
        KvCommand.CompactTo(1, 4, 10).Encode(),
        (new KvCommand(1, 5, KvOperation.Put, "key"u8.ToArray(), "value"u8.ToArray()) with { User = "alice" }).Encode(),
        .. AuthChangeSeeds().Select((change, i) => KvCommand.ChangeAuth(1, 6 + (ulong)i, change, "root").Encode()),
    ];

    private static KvAuthChange[] AuthChangeSeeds() =>
    [
        new(KvAuthChangeKind.UserAdd, Name: "root", SecretBytes: [1, 2, 3]),
        new(KvAuthChangeKind.RoleAdd, Role: "app"),
        new(KvAuthChangeKind.RoleGrant, Role: "app", Permission: KvPermission.OnPrefix(KvPermissionKind.ReadWrite, "app/"u8.ToArray())),
        new(KvAuthChangeKind.UserGrantRole, Name: "root", Role: "app"),
        new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]),
    ];

    /// <summary>A snapshot with keys, a session, a lease and users and roles (format version 7).</summary>
    private static byte[] KvSnapshotSeed()
    {
        var machine = new KvStateMachine();
        byte[][] commands = [new KvCommand(0, 1, KvOperation.Register, [], []).Encode(), .. KvSeeds()];
        for (var i = 0; i < commands.Length; i++)
        {
            machine.ApplySlot(i + 1, [commands[i]]);
        }

        return machine.Snapshot();
    }

    /// <summary>A snapshot of format 7: users, roles, authentication on, a session of a user's, and a lease with its granter and a key.</summary>
    private static byte[] KvAuthSnapshotSeed()
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
        var snapshot = machine.Snapshot();
        return snapshot[4] == KvStateMachine.SnapshotFormatVersionAuth && machine.LeaseOwner(9) == "alice"
            ? snapshot
            : throw new InvalidOperationException("the auth seed did not come out as a format 7 snapshot with a lease owner.");
    }

    /// <summary>The input with its header's body length and checksum made right (an input shorter than the header is left as it is).</summary>
    private static byte[] Resealed(byte[] input)
    {
        const int header = 17;
        if (input.Length < header)
        {
            return input;
        }

        var sealedInput = input.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(sealedInput.AsSpan(5), (ulong)(input.Length - header));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(sealedInput.AsSpan(13),
            System.IO.Hashing.Crc32.HashToUInt32(System.IO.Hashing.Crc32ParameterSet.Crc32C, sealedInput.AsSpan(header)));
        return sealedInput;
    }

    private static byte[][] WalRecordSeeds()
    {
        PersistOp[] ops = [new PromiseOp(new Ballot(2, 1)), new IncarnationOp(2, 3), new VoterOp(new Ballot(4, 2))];
        return [.. ops.Select(op =>
        {
            var payload = new byte[RecordEncoder.PayloadBytes(op)];
            RecordEncoder.EncodePayload(op, payload);
            return payload;
        })];
    }

    /// <summary>A record as a segment holds it: header (length, checksums) then payload.</summary>
    private static byte[] Framed(byte[] payload)
    {
        var record = new byte[RecordFormat.HeaderBytes + payload.Length];
        RecordFormat.WriteHeader(record, payload);
        payload.CopyTo(record, RecordFormat.HeaderBytes);
        return record;
    }

    private static byte[] HistorySeed()
    {
        var text = new StringWriter();
        HistoryJsonl.Write(text, [
            new Operation(1, OperationKind.Put, "k", "v", null, 0.1, 0.2, Outcome.Ok),
            new Operation(2, OperationKind.Get, "k", null, "v", 0.3, 0.4, Outcome.Ok),
        ]);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] ClusterSeed() => Encoding.UTF8.GetBytes(
        """{"replicas":[{"id":1,"endpoint":"127.0.0.1:7001"},{"id":2,"endpoint":"127.0.0.1:7002"},{"id":3,"endpoint":"127.0.0.1:7003"}],"clusterToken":"t","tlsCa":"/tmp/ca.pem"}""");
}
