using System.Globalization;

namespace Synod.Storage;

/// <summary>
/// The names in a data directory: <c>synod.meta</c>, <c>LOCK</c>, <c>wal/&lt;seq&gt;.wal</c>, <c>snap/&lt;slot&gt;.snap</c>
/// and <c>discarded-&lt;n&gt;/</c>. Numbers are zero-padded to 20 digits so that ordinal order is numeric order.
/// </summary>
internal static class StorageLayout
{
    public const string MetaFileName = "synod.meta";
    public const string LockFileName = "LOCK";
    public const string WalDirectoryName = "wal";
    public const string SnapshotDirectoryName = "snap";

    /// <summary>Format 1's single append-only file, which this build does not read.</summary>
    public const string OldLogFileName = "paxos.log";

    public const string SegmentExtension = ".wal";
    public const string SnapshotExtension = ".snap";
    public const string TemporaryExtension = ".tmp";
    public const string DiscardedPrefix = "discarded-";

    private const int NumberDigits = 20;
    private const string NumberFormat = "D20";

    /// <summary>The entries a replica's state consists of: what --rebuild-from-peers moves aside, the meta file first.</summary>
    public static readonly string[] StateEntryNames = [MetaFileName, WalDirectoryName, SnapshotDirectoryName, OldLogFileName];

    public static string SegmentFileName(long sequence) => sequence.ToString(NumberFormat, CultureInfo.InvariantCulture) + SegmentExtension;

    public static string SnapshotFileName(long slot) => slot.ToString(NumberFormat, CultureInfo.InvariantCulture) + SnapshotExtension;

    public static string TemporarySnapshotFileName(long slot) => slot.ToString(NumberFormat, CultureInfo.InvariantCulture) + TemporaryExtension;

    public static string DiscardedDirectoryName(int number) => DiscardedPrefix + number.ToString(CultureInfo.InvariantCulture);

    public static bool TryParseSegment(string name, out long sequence) => TryParseNumbered(name, SegmentExtension, out sequence);

    public static bool TryParseSnapshot(string name, out long slot) => TryParseNumbered(name, SnapshotExtension, out slot);

    public static bool TryParseDiscarded(string name, out int number)
    {
        number = 0;
        return name.StartsWith(DiscardedPrefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(DiscardedPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    private static bool TryParseNumbered(string name, string extension, out long number)
    {
        number = 0;
        return name.Length == NumberDigits + extension.Length
            && name.EndsWith(extension, StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(0, name.Length - extension.Length), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }
}
