namespace Synod.Kv;

/// <summary>
/// How much history a replica keeps (docs/api.md, "History and compaction"): the changes of at most
/// <paramref name="Revisions"/> revisions and about <paramref name="Bytes"/> bytes, whichever bound comes first.
/// The newest revision's changes are always kept, whatever their size.
/// </summary>
/// <param name="Revisions">The most revisions kept, at least 1 (serve --history-revisions).</param>
/// <param name="Bytes">The most bytes of history, each change counted by its key, value, previous value and <see cref="KvStateMachine.HistoryEventOverheadBytes"/> (serve --history-bytes).</param>
public readonly record struct KvHistoryLimits(long Revisions, long Bytes)
{
    /// <summary>The revisions kept unless configured otherwise (100,000).</summary>
    public const long RevisionsDefault = 100_000;

    /// <summary>The bytes of history kept unless configured otherwise (64 MiB).</summary>
    public const long BytesDefault = 64L * 1024 * 1024;

    /// <summary>The defaults: 100,000 revisions or 64 MiB.</summary>
    public static KvHistoryLimits Default => new(RevisionsDefault, BytesDefault);

    /// <summary>The sentence naming what is wrong with these limits, or null if they are valid.</summary>
    public string? Problem() =>
        Revisions < 1 ? $"HistoryRevisions is {Revisions}; it must be at least 1 (the newest revision is always kept)."
        : Bytes < 0 ? $"HistoryBytes is {Bytes}; it must be 0 or more bytes."
        : null;
}
