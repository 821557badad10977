namespace Synod.Kv;

/// <summary>
/// One client command as it travels through the log: opaque bytes to the consensus core, decoded only by
/// <see cref="KvStateMachine"/>. A client numbers its commands 1, 2, 3, ... and sends n + 1 only after it
/// is done with n, which is what lets the state machine apply a retried command once.
/// Equality compares the key and value bytes, not the array references.
/// </summary>
/// <param name="ClientId">The client's id, assigned by a <see cref="KvOperation.Register"/>; 0 for a Register itself.</param>
/// <param name="Sequence">The command's number within the client's session, starting at 1; a Register's nonce.</param>
/// <param name="Operation">Put, Delete or Register.</param>
/// <param name="Key">The key, 1 to <see cref="KvLimits.KeyBytesMax"/> bytes.</param>
/// <param name="Value">The value, up to <see cref="KvLimits.ValueBytesMax"/> bytes; empty for Delete.</param>
public sealed record KvCommand(ulong ClientId, ulong Sequence, KvOperation Operation, byte[] Key, byte[] Value)
{
    /// <summary>Null for a command of <see cref="DecodeSharingValue"/> until <see cref="Value"/> is first read.</summary>
    private byte[]? _value = Value;

    /// <summary>For a command of <see cref="DecodeSharingValue"/>, where its value lies in the array it was decoded from.</summary>
    private ReadOnlyMemory<byte>? _valueInCommand;

    /// <summary>
    /// The value as an array of its own (for a command of <see cref="DecodeSharingValue"/>, copied out of its array the
    /// first time it is read; two threads reading it at once for the first time would each make a copy of the same bytes).
    /// </summary>
    public byte[] Value
    {
        get
        {
            if (_value is null && _valueInCommand is { } shared)
            {
                _value = shared.ToArray();
            }

            return _value!;
        }

        init
        {
            _value = value;
            _valueInCommand = null;
        }
    }

    /// <summary>
    /// The value without a copy: for a command of <see cref="DecodeSharingValue"/>, the slice of the array it was encoded
    /// in, which the state machine keeps as the key's value (so a command held in the log and the value it wrote share
    /// their bytes).
    /// </summary>
    public ReadOnlyMemory<byte> ValueMemory => _value ?? _valueInCommand ?? ReadOnlyMemory<byte>.Empty;

    /// <summary>
    /// The encoding this code writes: version 1's fields, then a condition flag (0 or 1) and the condition. The first
    /// command of this encoding applied starts revisions (<see cref="KvStateMachine.RevisionsStarted"/>), at the same
    /// slot on every replica.
    /// </summary>
    public const byte FormatVersion = 3;

    /// <summary>
    /// The encoding of a command that needs leases: <see cref="FormatVersion"/>'s layout with a varint lease id after the
    /// condition (0: none) and one after each transaction operation. A command that needs none is still written as
    /// <see cref="FormatVersion"/>, so that a replica of the build before leases reads every command that does not use them.
    /// </summary>
    public const byte FormatVersionLeases = 4;

    /// <summary>
    /// The encoding of a command with a user (authentication on) or an auth change: <see cref="FormatVersionLeases"/>'s
    /// layout followed by the user's name (a length varint and UTF-8; empty: none). A command without either is still
    /// written as before, so a cluster that never uses authentication writes what the builds before it read.
    /// </summary>
    public const byte FormatVersionAuth = 5;

    /// <summary>
    /// The encoding of a command with a user or an auth change written by this build: <see cref="FormatVersionAuth"/>'s
    /// layout. A user deleted by a command of this encoding hands its leases to root; one deleted by a command of
    /// <see cref="FormatVersionAuth"/> (chosen by an earlier build, which did not) hands nothing over, wherever it is
    /// applied, so replicas that replay an old deletion and those that restored its effect from an old snapshot agree.
    /// </summary>
    public const byte FormatVersionLeaseHandover = 6;

    /// <summary>
    /// The encoding of the builds with revisions but before history (the same layout as <see cref="FormatVersion"/>),
    /// still read from old logs; the first command of <see cref="FormatVersion"/> applied starts the history window
    /// (<see cref="KvStateMachine.HistoryStarted"/>), at the same slot on every replica.
    /// </summary>
    public const byte FormatVersionBeforeHistory = 2;

    /// <summary>The encoding of the builds before revisions, still read (from old logs): no condition.</summary>
    public const byte FormatVersionBeforeRevisions = 1;

    /// <summary>The encoding the command was read in (<see cref="FormatVersion"/> for one built here).</summary>
    public byte EncodingVersion { get; init; } = FormatVersion;

    /// <summary>A condition on the key that the write takes effect under (compare-and-swap); null for none.</summary>
    public KvCondition? Condition { get; init; }

    /// <summary>
    /// The authenticated user the replica that took the request named (empty: none). The state machine checks the
    /// command against this user's roles when it applies it, in log order, so every replica gives the same answer.
    /// </summary>
    public string User { get; init; } = "";

    /// <summary>For an auth command, the change its value carries.</summary>
    public KvAuthChange AuthChange => KvAuthChange.Decode(Value);

    /// <summary>Whether the command needs <see cref="FormatVersionLeaseHandover"/>.</summary>
    private bool NeedsAuth => User.Length != 0 || Operation == KvOperation.Auth;

    /// <summary>For a put, the lease the key is attached to (0: none; the key is detached from any lease it had).</summary>
    public long Lease { get; init; }

    /// <summary>For a lease grant, revoke or expiry, the lease id its value carries first.</summary>
    public long LeaseId => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Value);

    /// <summary>For a lease grant, the TTL in seconds.</summary>
    public long LeaseTtlSeconds => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Value.AsSpan(8));

    /// <summary>For a leader epoch, the ballot it carries; for an expiry, the ballot it was proposed under.</summary>
    public KvEpoch Epoch => KvEpoch.Read(Operation == KvOperation.LeaseExpire ? Value.AsSpan(16) : Value);

    /// <summary>For an expiry, the slot the grant it ends was applied at.</summary>
    public long LeaseGrantSlot => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Value.AsSpan(8));

    /// <summary>Whether the command needs <see cref="FormatVersionLeases"/>.</summary>
    private bool NeedsLeases =>
        Lease != 0 || Operation >= KvOperation.LeaseGrant
        || (Txn is { } txn && (txn.Success.Any(op => op.Lease != 0) || txn.Failure.Any(op => op.Lease != 0)));

    /// <summary>For a valid <see cref="KvOperation.Txn"/>, the transaction (written after the condition flag); null otherwise.</summary>
    public KvTxn? Txn { get; init; }

    /// <summary>Version and operation bytes that precede the varints.</summary>
    private const int FixedBytes = 2;

    private const string Subject = "KvCommand";

    /// <summary>
    /// Encodes as: version (1 byte, 2), operation (1 byte), varint client id, varint sequence, varint key length, key,
    /// varint value length, value, then a condition flag (1 byte: 0 none, 1 one follows) and, with one, the target
    /// (1 byte), the op (1 byte), varint number, varint value length, value. Limits are not checked here but by
    /// <see cref="Validate"/> and, on the way back, by <see cref="Decode"/>.
    /// </summary>
    public byte[] Encode()
    {
        ArgumentNullException.ThrowIfNull(Key);
        ArgumentNullException.ThrowIfNull(Value);
        var size = FixedBytes
            + Varint.Size(ClientId)
            + Varint.Size(Sequence)
            + Varint.Size((ulong)Key.Length) + Key.Length
            + Varint.Size((ulong)Value.Length) + Value.Length
            + 1;
        var auth = NeedsAuth;
        var leases = auth || NeedsLeases;
        if (leases)
        {
            size += Varint.Size((ulong)Lease);
        }

        var user = auth ? System.Text.Encoding.UTF8.GetBytes(User) : [];
        if (auth)
        {
            size += Varint.Size((ulong)user.Length) + user.Length;
        }

        if (Condition is { } condition)
        {
            size += 2 + Varint.Size((ulong)condition.Number) + Varint.Size((ulong)condition.Value.Length) + condition.Value.Length;
        }

        List<byte>? txn = null;
        if (Txn is not null)
        {
            txn = [];
            Txn.Write(txn, leases);
            size += txn.Count;
        }

        var bytes = new byte[size];
        var writer = new ByteWriter(bytes);
        writer.WriteByte(auth ? FormatVersionLeaseHandover : leases ? FormatVersionLeases : FormatVersion);
        writer.WriteByte((byte)Operation);
        writer.WriteVarint(ClientId);
        writer.WriteVarint(Sequence);
        writer.WriteLengthPrefixed(Key);
        writer.WriteLengthPrefixed(Value);
        writer.WriteByte(Condition is null ? (byte)0 : (byte)1);
        if (Condition is { } written)
        {
            writer.WriteByte((byte)written.Target);
            writer.WriteByte((byte)written.Op);
            writer.WriteVarint((ulong)written.Number);
            writer.WriteLengthPrefixed(written.Value);
        }

        if (leases)
        {
            writer.WriteVarint((ulong)Lease);
        }

        if (txn is not null)
        {
            writer.WriteBytes(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(txn));
        }

        if (auth)
        {
            writer.WriteLengthPrefixed(user);
        }

        return bytes;
    }

    /// <summary>
    /// Whether <paramref name="encoded"/> (what <see cref="Encode"/> wrote) is a transaction, without decoding it: every
    /// format has the operation byte right after the version byte. For a cheap bound before a full decode; the answer
    /// about a malformed command means nothing (<see cref="Decode"/> refuses it).
    /// </summary>
    public static bool IsTxn(ReadOnlySpan<byte> encoded) => encoded.Length > 1 && encoded[1] == (byte)KvOperation.Txn;

    /// <summary>
    /// Decodes what <see cref="Encode"/> wrote. Throws <see cref="KvFormatException"/>, never another exception,
    /// for truncated input, an unknown version or operation, a length over its limit, or trailing bytes.
    /// Semantic rules (empty key, sequence 0) are left to <see cref="Validate"/>.
    /// </summary>
    public static KvCommand Decode(ReadOnlySpan<byte> bytes) => Decode(bytes, null);

    /// <summary>
    /// How many bytes a command whose value <see cref="DecodeSharingValue"/> shares may hold beyond twice its value: room
    /// for a short key, a session's varints and a user's name next to a small value.
    /// </summary>
    public const int SharedValueExtraBytesMax = 64;

    /// <summary>
    /// Decodes what <see cref="Encode"/> wrote, as <see cref="Decode(ReadOnlySpan{byte})"/> does, except that the value
    /// of a put without a condition whose other bytes (the key, the user's name, a few more) are at most as many as the
    /// value's and <see cref="SharedValueExtraBytesMax"/> more is not copied: <see cref="ValueMemory"/> is a slice of
    /// <paramref name="bytes"/>, which must never be written afterwards (a command in the log is not). Keeping the
    /// whole array for the value then costs at most the value again and those bytes; a put whose key outweighs its
    /// value, or with a condition (whose operand may be as large as the value), or without a value, has it copied.
    /// </summary>
    public static KvCommand DecodeSharingValue(byte[] bytes) => Decode(bytes, bytes);

    private static KvCommand Decode(ReadOnlySpan<byte> bytes, byte[]? array)
    {
        var reader = new ByteReader(bytes, Subject);
        var version = reader.ReadByte("version");
        if (version is not (FormatVersionLeaseHandover or FormatVersionAuth or FormatVersionLeases or FormatVersion or FormatVersionBeforeHistory or FormatVersionBeforeRevisions))
        {
            throw new KvFormatException($"The {Subject} has version {version}; only versions {FormatVersionBeforeRevisions} to {FormatVersionLeaseHandover} are understood.");
        }

        var withLeases = version >= FormatVersionLeases;

        var operation = reader.ReadByte("operation");
        if (operation is not ((byte)KvOperation.Put or (byte)KvOperation.Delete or (byte)KvOperation.Register)
            && !(operation == (byte)KvOperation.Txn && version >= FormatVersionBeforeHistory)
            && !(operation == (byte)KvOperation.Compact && version >= FormatVersion)
            && !(operation is >= (byte)KvOperation.LeaseGrant and <= (byte)KvOperation.LeaderEpoch && withLeases)
            && !(operation == (byte)KvOperation.Auth && version >= FormatVersionAuth))
        {
            throw new KvFormatException(
                $"The {Subject} has operation {operation}; expected {(byte)KvOperation.Put} (Put), {(byte)KvOperation.Delete} (Delete), {(byte)KvOperation.Register} (Register), from version {FormatVersionBeforeHistory} {(byte)KvOperation.Txn} (Txn), from version {FormatVersion} {(byte)KvOperation.Compact} (Compact), from version {FormatVersionLeases} {(byte)KvOperation.LeaseGrant} to {(byte)KvOperation.LeaderEpoch} (leases) or, from version {FormatVersionAuth}, {(byte)KvOperation.Auth} (Auth).");
        }

        var clientId = reader.ReadVarint("client id");
        var sequence = reader.ReadVarint("sequence");
        var key = reader.ReadLengthPrefixed("key", KvLimits.KeyBytesMax, nameof(KvLimits.KeyBytesMax)).ToArray();
        var valueRead = reader.ReadLengthPrefixed("value", KvLimits.ValueBytesMax, nameof(KvLimits.ValueBytesMax));
        var valueOffset = reader.Position - valueRead.Length;
        KvCondition? condition = null;
        var hasCondition = version >= FormatVersionBeforeHistory && reader.ReadByte("condition flag") switch
        {
            0 => false,
            1 => true,
            var flag => throw new KvFormatException($"The {Subject} has condition flag {flag}; expected 0 (none) or 1."),
        };
        if (hasCondition)
        {
            var target = reader.ReadByte("condition target");
            var op = reader.ReadByte("condition op");
            if (target is < (byte)KvCompareTarget.Version or > (byte)KvCompareTarget.Value || op is < (byte)KvCompareOp.Equal or > (byte)KvCompareOp.Greater)
            {
                throw new KvFormatException($"The {Subject} has condition target {target} and op {op}; targets are 1 to 4 and ops 1 to 4.");
            }

            var number = reader.ReadVarint("condition number");
            var operand = reader.ReadLengthPrefixed("condition value", KvLimits.ValueBytesMax, nameof(KvLimits.ValueBytesMax)).ToArray();
            condition = new KvCondition((KvCompareTarget)target, (KvCompareOp)op, (long)number, operand);
        }

        long lease = 0;
        if (withLeases)
        {
            var read = reader.ReadVarint("lease");
            lease = read > (ulong)RequestRules.LeaseIdMax
                ? throw new KvFormatException($"The {Subject} names lease {read}, over the largest lease id ({RequestRules.LeaseIdMax}).")
                : (long)read;
        }

        var txn = operation == (byte)KvOperation.Txn ? KvTxn.Read(ref reader, withLeases) : null;
        var user = version >= FormatVersionAuth ? KvAuthChange.ReadName(ref reader, "user", allowEmpty: true) : "";
        reader.ExpectEnd();

        // Kept as a slice only where the command holds little besides the value (DecodeSharingValue).
        var valueInCommand = array is not null && operation == (byte)KvOperation.Put && condition is null && valueRead.Length > 0 &&
            array.Length - valueRead.Length <= valueRead.Length + SharedValueExtraBytesMax
            ? array.AsMemory(valueOffset, valueRead.Length)
            : (ReadOnlyMemory<byte>?)null;
        var value = valueInCommand is null ? valueRead.ToArray() : null;
        return new KvCommand(clientId, sequence, (KvOperation)operation, key, value!)
        {
            Condition = condition, EncodingVersion = version, Txn = txn, Lease = lease, User = user, _valueInCommand = valueInCommand,
        };
    }

    /// <summary>A command that compacts the history up to <paramref name="revision"/> (<see cref="KvOperation.Compact"/>).</summary>
    public static KvCommand CompactTo(ulong clientId, ulong sequence, long revision)
    {
        var value = new byte[RequestRules.CompactValueBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value, revision);
        return new KvCommand(clientId, sequence, KvOperation.Compact, [], value);
    }

    /// <summary>For a valid <see cref="KvOperation.Compact"/>, the revision it compacts up to.</summary>
    public long CompactRevision => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Value);

    /// <summary>A grant of lease <paramref name="id"/> for <paramref name="ttlSeconds"/> (<see cref="KvOperation.LeaseGrant"/>).</summary>
    public static KvCommand GrantLease(ulong clientId, ulong sequence, long id, long ttlSeconds)
    {
        var value = new byte[RequestRules.LeaseGrantValueBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value, id);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), ttlSeconds);
        return new KvCommand(clientId, sequence, KvOperation.LeaseGrant, [], value);
    }

    /// <summary>A revoke of lease <paramref name="id"/> (<see cref="KvOperation.LeaseRevoke"/>).</summary>
    public static KvCommand RevokeLease(ulong clientId, ulong sequence, long id)
    {
        var value = new byte[RequestRules.LeaseRevokeValueBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value, id);
        return new KvCommand(clientId, sequence, KvOperation.LeaseRevoke, [], value);
    }

    /// <summary>
    /// A leader's expiry of lease <paramref name="id"/> as granted at slot <paramref name="grantSlot"/>, proposed under
    /// <paramref name="ballot"/> (<see cref="KvOperation.LeaseExpire"/>).
    /// </summary>
    public static KvCommand ExpireLease(long id, long grantSlot, KvEpoch ballot)
    {
        var value = new byte[RequestRules.LeaseExpireValueBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value, id);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), grantSlot);
        ballot.Write(value.AsSpan(16));
        return new KvCommand(0, 0, KvOperation.LeaseExpire, [], value);
    }

    /// <summary>A new leader's epoch (<see cref="KvOperation.LeaderEpoch"/>).</summary>
    public static KvCommand LeaderEpochOf(KvEpoch ballot)
    {
        var value = new byte[RequestRules.LeaderEpochValueBytes];
        ballot.Write(value);
        return new KvCommand(0, 0, KvOperation.LeaderEpoch, [], value);
    }

    /// <summary>A change to users, roles or authentication (<see cref="KvOperation.Auth"/>) made by <paramref name="user"/>.</summary>
    public static KvCommand ChangeAuth(ulong clientId, ulong sequence, KvAuthChange change, string user) =>
        new(clientId, sequence, KvOperation.Auth, [], change.Encode()) { User = user };

    /// <summary>Returns null if the command may be applied, else a sentence naming the broken rule.</summary>
    public string? Validate() =>
        (User.Length != 0 ? KvAuthChange.NameProblem(User, "user name") : null)
        ?? (Operation == KvOperation.Auth ? AuthProblem() : ValueProblem())
        ?? (Lease != 0 && Operation != KvOperation.Put ? "Only a put may attach its key to a lease." : null)
        ?? (Lease != 0 ? RequestRules.LeaseIdProblem(Lease) : null)
        ?? (Condition is { } condition ? RequestRules.ConditionProblem((byte)Operation, (byte)condition.Target, condition.Number, condition.Value, ValueMemory.Length) : null)
        ?? (Operation == KvOperation.Txn
            ? Txn?.Problem() ?? (Txn is null ? "A transaction command carries no transaction." : null)
            : Txn is not null ? "Only a transaction command carries a transaction." : null);

    private string? ValueProblem() =>
        _value is null && _valueInCommand is { } inCommand
            ? RequestRules.Problem((byte)Operation, ClientId, Sequence, Key, inCommand.Span)
            : RequestRules.Problem((byte)Operation, ClientId, Sequence, Key, _value);

    private string? AuthProblem()
    {
        if (ClientId == 0 || Sequence == 0 || Key.Length != 0 || Condition is not null || Lease != 0 || Txn is not null)
        {
            return "An auth change has a client id and a sequence from 1, and carries no key, condition, lease or transaction.";
        }

        try
        {
            return KvAuthChange.Decode(Value).Problem();
        }
        catch (KvFormatException e)
        {
            return e.Message;
        }
    }

    public bool Equals(KvCommand? other) =>
        other is not null
        && ClientId == other.ClientId
        && Sequence == other.Sequence
        && Operation == other.Operation
        && Key.AsSpan().SequenceEqual(other.Key)
        && ValueMemory.Span.SequenceEqual(other.ValueMemory.Span)
        && Equals(Condition, other.Condition)
        && Lease == other.Lease
        && Equals(Txn, other.Txn)
        && User == other.User;

    public override int GetHashCode() => HashCode.Combine(ClientId, Sequence, Operation, Key.Length, ValueMemory.Length);

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"ClientId = {ClientId}, Sequence = {Sequence}, Operation = {Operation}, ");
        builder.Append($"Key = {Key?.Length ?? 0} bytes, Value = {ValueMemory.Length} bytes");
        if (Condition is not null)
        {
            builder.Append($", Condition = {Condition}");
        }

        return true;
    }
}
