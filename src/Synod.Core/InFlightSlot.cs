namespace Synod.Core;

/// <summary>A slot the leader proposed at its ballot and has not yet seen chosen.</summary>
internal sealed class InFlightSlot
{
    public InFlightSlot(byte[][] commands, long sentTick)
    {
        Commands = commands;
        SentTick = sentTick;
    }

    public byte[][] Commands { get; }

    public HashSet<int> AcceptedBy { get; } = [];

    public long SentTick { get; set; }
}
