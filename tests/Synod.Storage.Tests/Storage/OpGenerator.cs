using Synod.Core;
using Synod.Core.Persistence;

namespace Synod.Tests.Storage;

/// <summary>
/// Seeded streams of persist ops shaped like the core's: ballots that rise, accepts around the frontier, chosen
/// values, a commit index that follows, now and then a rebuild and a return to voting. Commands are random bytes.
/// </summary>
internal sealed class OpGenerator(ulong seed, int commandBytesMax = 64)
{
    private readonly SeededRandom _random = new(seed);
    private long _round = 1;
    private long _frontier;
    private long _commit;

    public PersistOp Next()
    {
        var roll = _random.Next(100);
        return roll switch
        {
            < 8 => new PromiseOp(NextBallot()),
            < 55 => new AcceptOp(NextSlot(), new Ballot(_round, 1 + _random.Next(5)), Commands()),
            < 75 => new ChosenOp(NextSlot(), Commands()),
            < 95 => new CommitOp(_commit = Math.Max(_commit, Math.Min(_frontier, _commit + _random.Next(4)))),
            < 96 => new RebuildOp(),
            < 98 => new IncarnationOp(1 + _random.Next(5), 1 + _random.Next(1000)),
            _ => new VoterOp(NextBallot()),
        };
    }

    public List<PersistOp> Take(int count) => Enumerable.Range(0, count).Select(_ => Next()).ToList();

    public byte[][] Commands()
    {
        var commands = new byte[1 + _random.Next(3)][];
        for (var i = 0; i < commands.Length; i++)
        {
            commands[i] = Bytes(1 + _random.Next(commandBytesMax));
        }

        return commands;
    }

    public byte[] Bytes(int count)
    {
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
        {
            // Never zero, so that no record ends in a run of zeros the torn-tail rule could mistake for a crash.
            bytes[i] = (byte)(1 + _random.Next(255));
        }

        return bytes;
    }

    private Ballot NextBallot() => new(_round += 1 + _random.Next(2), 1 + _random.Next(5));

    private long NextSlot()
    {
        var slot = Math.Max(1, _frontier - 3 + _random.Next(5));
        _frontier = Math.Max(_frontier, slot);
        return slot;
    }
}
