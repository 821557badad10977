namespace Synod.Checker;

/// <summary>
/// A configuration the search has already explored: which operations are linearized, and the register state.
/// </summary>
/// <remarks>
/// Operations are numbered in invocation order, and every operation below the lowest unlinearized one is
/// linearized, so the set is stored as that watermark's word plus the window of words from there to the
/// last non-zero word. The window is usually one word, kept inline, so an entry costs tens of bytes
/// instead of one bit per operation in the key's history.
/// </remarks>
internal readonly struct CacheEntry
{
    private readonly ulong[]? _words;
    private readonly int _offset;
    private readonly ulong _single;

    private CacheEntry(ulong[]? words, int offset, ulong single, int wordLo, int length, int state, ulong hash)
    {
        _words = words;
        _offset = offset;
        _single = single;
        WordLo = wordLo;
        Length = length;
        State = state;
        Hash = hash;
    }

    /// <summary>Index of the first word of the window; every word before it is all ones.</summary>
    public int WordLo { get; }

    public int Length { get; }

    public int State { get; }

    public ulong Hash { get; }

    /// <summary>Approximate bytes an owned entry holds in the cache, for the memory cap.</summary>
    public long OwnedBytes => _words is null ? 48 : 48 + 24 + (8L * Length);

    /// <summary>An entry that borrows the live bitset; valid only until the bitset changes.</summary>
    public static CacheEntry Probe(ulong[] linearized, int wordLo, int length, int state, ulong hash) =>
        new(linearized, wordLo, 0, wordLo, length, state, hash);

    /// <summary>A copy that owns its window, to be stored in the cache.</summary>
    public CacheEntry ToOwned()
    {
        if (Length == 1)
        {
            return new CacheEntry(null, 0, _words![_offset], WordLo, 1, State, Hash);
        }
        var window = Length == 0 ? [] : _words.AsSpan(_offset, Length).ToArray();
        return new CacheEntry(window, 0, 0, WordLo, Length, State, Hash);
    }

    public bool SameWindow(in CacheEntry other)
    {
        if (Length != other.Length)
        {
            return false;
        }
        if (Length == 1)
        {
            return FirstWord == other.FirstWord;
        }
        return Length == 0 || _words.AsSpan(_offset, Length).SequenceEqual(other._words.AsSpan(other._offset, other.Length));
    }

    private ulong FirstWord => _words is null ? _single : _words[_offset];
}
