using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Synod.Core;
using Synod.Core.Persistence;

namespace Synod.Server;

/// <summary>
/// The replica's durable state as one append-only file of records, each
/// <c>[length u32][crc32c u32][version u8][type u8][fields]</c>, made durable with fsync before the core's
/// messages leave. On open the file is replayed into a <see cref="DurableState"/>; a torn last record (a crash
/// mid-write) is cut off with a log line, while a bad record followed by more data stops the start with a message
/// naming the file and offset. A lock file keeps a second process out of the directory.
/// (The segmented write-ahead log with compaction replaces this file in the durability work.)
/// </summary>
public sealed class DurableLog : IDisposable
{
    public const string LogFileName = "paxos.log";
    public const string LockFileName = "LOCK";
    private const byte FormatVersion = 1;
    private const int HeaderBytes = 8;
    private const int RecordBytesMax = 512 * 1024 * 1024;

    private readonly FileStream _lock;
    private readonly FileStream _log;
    private readonly MemoryStream _buffer = new();

    private DurableLog(string directory, FileStream lockFile, FileStream log, DurableState state)
    {
        Directory = directory;
        _lock = lockFile;
        _log = log;
        State = state;
    }

    public string Directory { get; }

    /// <summary>What the log held when it was opened.</summary>
    public DurableState State { get; }

    public long SizeBytes => _log.Length;

    public static DurableLog Open(string directory, ILogger logger)
    {
        System.IO.Directory.CreateDirectory(directory);
        var lockPath = Path.Combine(directory, LockFileName);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"The data directory {directory} is in use by another process ({lockPath} is locked: {e.Message}). Stop that replica, or give this one another --data-dir.", e);
        }

        var path = Path.Combine(directory, LogFileName);
        var log = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var state = Replay(log, path, logger);
        log.Seek(0, SeekOrigin.End);
        return new DurableLog(directory, lockFile, log, state);
    }

    /// <summary>Writes the ops and returns once they are on disk (fsync).</summary>
    public void Append(IReadOnlyList<PersistOp> ops)
    {
        _buffer.SetLength(0);
        foreach (var op in ops)
        {
            WriteRecord(_buffer, op);
        }

        _log.Write(_buffer.GetBuffer(), 0, (int)_buffer.Length);
        _log.Flush(flushToDisk: true);
    }

    public void Dispose()
    {
        _log.Dispose();
        _lock.Dispose();
    }

    private static DurableState Replay(FileStream log, string path, ILogger logger)
    {
        var state = new DurableState();
        var header = new byte[HeaderBytes];
        long offset = 0;
        while (offset < log.Length)
        {
            log.Seek(offset, SeekOrigin.Begin);
            var remaining = log.Length - offset;
            uint crc = 0;
            var length = remaining >= HeaderBytes ? ReadHeader(log, header, out crc) : -1;
            if (length < 2 || length > RecordBytesMax || HeaderBytes + length > remaining)
            {
                Truncate(log, offset, path, logger, remaining);
                break;
            }

            var payload = new byte[length];
            log.ReadExactly(payload);
            if (Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, payload) != crc)
            {
                if (offset + HeaderBytes + length == log.Length)
                {
                    Truncate(log, offset, path, logger, remaining);
                    break;
                }

                throw new InvalidDataException($"{path} is corrupt at offset {offset}: a record's checksum does not match and more records follow. " +
                    "The replica will not start on a damaged log. Do not delete the directory to get it going: an acceptor that forgets its promises " +
                    "can break safety. Keep the file for inspection; rebuilding a replica safely from its peers comes with --rebuild-from-peers.");
            }

            state.Apply(ReadRecord(payload, path, offset));
            offset += HeaderBytes + length;
        }

        return state;
    }

    private static int ReadHeader(FileStream log, byte[] header, out uint crc)
    {
        log.ReadExactly(header);
        crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        return (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(header), int.MaxValue);
    }

    private static void Truncate(FileStream log, long offset, string path, ILogger logger, long bytes)
    {
        logger.LogWarning("{Path}: cut off a torn last record of {Bytes} bytes at offset {Offset} (a crash during a write).", path, bytes, offset);
        log.SetLength(offset);
        log.Flush(flushToDisk: true);
    }

    private static void WriteRecord(MemoryStream buffer, PersistOp op)
    {
        var start = buffer.Position;
        buffer.Position += HeaderBytes;
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            switch (op)
            {
                case PromiseOp p: writer.Write((byte)1); WriteBallot(writer, p.Ballot); break;
                case AcceptOp a: writer.Write((byte)2); writer.Write(a.Slot); WriteBallot(writer, a.Ballot); WriteBatch(writer, a.Commands); break;
                case ChosenOp c: writer.Write((byte)3); writer.Write(c.Slot); WriteBatch(writer, c.Commands); break;
                case CommitOp c: writer.Write((byte)4); writer.Write(c.CommitIndex); break;
                case SnapshotOp s: writer.Write((byte)5); writer.Write(s.Slot); writer.Write(s.Data.Length); writer.Write(s.Data); break;
                case RebuildOp: writer.Write((byte)6); break;
                case VoterOp v: writer.Write((byte)7); WriteBallot(writer, v.Ballot); break;
                default: throw new ArgumentException($"No record type for {op.GetType().Name}.", nameof(op));
            }
        }

        var end = buffer.Position;
        var payload = buffer.GetBuffer().AsSpan((int)(start + HeaderBytes), (int)(end - start - HeaderBytes));
        var header = buffer.GetBuffer().AsSpan((int)start, HeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, payload));
    }

    private static PersistOp ReadRecord(byte[] payload, string path, long offset)
    {
        using var reader = new BinaryReader(new MemoryStream(payload));
        try
        {
            var version = reader.ReadByte();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"{path} at offset {offset}: record format version {version} is not supported (this build reads version {FormatVersion}).");
            }

            return reader.ReadByte() switch
            {
                1 => new PromiseOp(ReadBallot(reader)),
                2 => new AcceptOp(reader.ReadInt64(), ReadBallot(reader), ReadBatch(reader)),
                3 => new ChosenOp(reader.ReadInt64(), ReadBatch(reader)),
                4 => new CommitOp(reader.ReadInt64()),
                5 => new SnapshotOp(reader.ReadInt64(), reader.ReadBytes(reader.ReadInt32())),
                6 => new RebuildOp(),
                7 => new VoterOp(ReadBallot(reader)),
                var type => throw new InvalidDataException($"{path} at offset {offset}: unknown record type {type}."),
            };
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} at offset {offset}: a record is shorter than its fields (its checksum matched, so it was written so).", e);
        }
    }

    private static void WriteBallot(BinaryWriter writer, Ballot ballot)
    {
        writer.Write(ballot.Round);
        writer.Write(ballot.ReplicaId);
    }

    private static Ballot ReadBallot(BinaryReader reader) => new(reader.ReadInt64(), reader.ReadInt32());

    private static void WriteBatch(BinaryWriter writer, byte[][] commands)
    {
        writer.Write(commands.Length);
        foreach (var command in commands)
        {
            writer.Write(command.Length);
            writer.Write(command);
        }
    }

    private static byte[][] ReadBatch(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        var commands = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            commands[i] = reader.ReadBytes(reader.ReadInt32());
        }

        return commands;
    }
}
