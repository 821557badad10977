using System.Buffers.Binary;
using System.Text;

namespace Synod.Core;

/// <summary>
/// A request to change the configuration, carried in the log as one command of a slot (docs/protocol.md,
/// "Membership"). Chosen in slot s, it takes effect at slot s + <see cref="ReplicaOptions.ConfigurationDelaySlots"/> if
/// <see cref="Refusal"/> finds nothing wrong with it at s, which every replica decides alike from the chosen log alone.
/// Its first byte (<see cref="Marker"/>) is one no key-value command starts with.
/// </summary>
public sealed record ConfigurationCommand(long RequestId, long ExpectedRevision, IReadOnlyList<ConfigurationMember> Members)
{
    public const byte Marker = 0xC5;
    private const byte Version = 1;

    public static bool IsConfiguration(byte[] command) => command.Length > 0 && command[0] == Marker;

    public byte[] Encode()
    {
        var size = 2 + 8 + 8 + 1 + Members.Sum(m => 4 + 1 + 2 + Encoding.UTF8.GetByteCount(m.Endpoint));
        var bytes = new byte[size];
        bytes[0] = Marker;
        bytes[1] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(2), RequestId);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(10), ExpectedRevision);
        bytes[18] = checked((byte)Members.Count);
        var at = 19;
        foreach (var member in Members)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), member.Id);
            bytes[at + 4] = member.Voter ? (byte)1 : (byte)0;
            var length = Encoding.UTF8.GetBytes(member.Endpoint, bytes.AsSpan(at + 7));
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at + 5), checked((ushort)length));
            at += 7 + length;
        }

        return bytes;
    }

    /// <summary>The command, or null with <paramref name="problem"/> saying what is malformed (bounded: it reads only what the bytes hold).</summary>
    public static ConfigurationCommand? Decode(byte[] bytes, out string? problem)
    {
        problem = null;
        if (bytes.Length < 19 || bytes[0] != Marker || bytes[1] != Version)
        {
            problem = $"a configuration command of {bytes.Length} bytes without its header (marker {Marker}, version {Version})";
            return null;
        }

        var requestId = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(2));
        var expected = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(10));
        int count = bytes[18];
        var members = new List<ConfigurationMember>(Math.Min(count, ReplicaOptions.ReplicasMax));
        var at = 19;
        for (var i = 0; i < count; i++)
        {
            if (at + 7 > bytes.Length)
            {
                problem = $"a configuration command cut short in member {i + 1} of {count}";
                return null;
            }

            var id = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            var voter = bytes[at + 4];
            int length = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at + 5));
            if (voter > 1 || length > Configuration.EndpointBytesMax || at + 7 + length > bytes.Length)
            {
                problem = $"a configuration command with a malformed member {i + 1} of {count}";
                return null;
            }

            members.Add(new ConfigurationMember(id, voter == 1, Encoding.UTF8.GetString(bytes, at + 7, length)));
            at += 7 + length;
        }

        if (at != bytes.Length)
        {
            problem = $"a configuration command with {bytes.Length - at} bytes after its last member";
            return null;
        }

        return new ConfigurationCommand(requestId, expected, members);
    }

    /// <summary>
    /// Null if this change may follow <paramref name="current"/> (the latest configuration chosen, in effect or not);
    /// otherwise the sentence that says why not. <paramref name="pending"/>: the latest has not taken effect yet.
    /// </summary>
    public string? Refusal(Configuration current, bool pending)
    {
        if (ExpectedRevision != current.Revision)
        {
            return $"the configuration is at revision {current.Revision}, not {ExpectedRevision}: another change came first; read the members again and retry";
        }

        if (pending)
        {
            return $"revision {current.Revision} has not taken effect yet; one change at a time";
        }

        if (Members.Count > ReplicaOptions.ReplicasMax)
        {
            return $"{Members.Count} members, over the {ReplicaOptions.ReplicasMax} a configuration holds";
        }

        var voters = Members.Count(m => m.Voter);
        if (voters == 0)
        {
            return "no voter would be left";
        }

        if (Members.Select(m => m.Id).Distinct().Count() != Members.Count)
        {
            return "a replica id is listed twice";
        }

        var changedVoters = 0;
        foreach (var member in Members)
        {
            if (member.Id < 1 || member.Id > Configuration.ReplicaIdMax)
            {
                return $"replica id {member.Id} lies outside 1..{Configuration.ReplicaIdMax}";
            }

            var before = current.Member(member.Id);
            if (before is null)
            {
                if (member.Id <= current.IdMax)
                {
                    return $"replica id {member.Id} was used before (ids up to {current.IdMax} have been); give the new replica an id above {current.IdMax}";
                }

                if (member.Voter)
                {
                    return $"replica {member.Id} would join as a voter; a replica joins as a learner and is promoted once it has caught up";
                }

                if (member.Endpoint.Length == 0)
                {
                    return $"replica {member.Id} has no endpoint";
                }
            }
            else if (member.Voter && !before.Voter)
            {
                changedVoters++;
            }
            else if (!member.Voter && before.Voter)
            {
                return $"replica {member.Id} would go from voter to learner; remove it instead";
            }
        }

        changedVoters += current.Voters.Count(id => !Members.Any(m => m.Id == id));
        return changedVoters <= 1 ? null : $"{changedVoters} voters would change at once; change one voter at a time";
    }
}
