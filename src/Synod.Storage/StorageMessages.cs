namespace Synod.Storage;

/// <summary>The refusals' sentences, kept together so that every one names the file and says what to do.</summary>
internal static class StorageMessages
{
    public const string RebuildAdvice =
        "Rebuild this replica from its peers: ./synod serve <same flags> --rebuild-from-peers (discards the local state and rejoins as a non-voter until caught up).";

    public static StorageException Corrupt(string path, long offset, string what, string damagedThing = "log") =>
        new($"{path} is corrupt at offset {offset}: {what}. The replica will not start on a damaged {damagedThing}. {RebuildAdvice}");

    public static StorageException Damaged(string path, string what) =>
        new($"{path} is damaged: {what}. The replica will not start on damaged state. {RebuildAdvice}");

    public static StorageException UnsupportedFormat(string path, long offset, string what) =>
        new($"{path} at offset {offset} holds {what}. It was written by another Synod version: run the build that wrote it, " +
            $"or, to start this build on this disk anyway, {char.ToLowerInvariant(RebuildAdvice[0])}{RebuildAdvice[1..]}");

    public static StorageException NoState(string directory) =>
        new($"{directory} holds no Synod state. Pass --new-cluster to bootstrap a new cluster, or --rebuild-from-peers to rejoin an existing one after losing this disk.");
}
