namespace Synod.Checker;

internal sealed class CacheEntryComparer : IEqualityComparer<CacheEntry>
{
    public static readonly CacheEntryComparer Instance = new();

    public bool Equals(CacheEntry x, CacheEntry y) =>
        x.Hash == y.Hash
        && x.State == y.State
        && x.WordLo == y.WordLo
        && x.SameWindow(y);

    public int GetHashCode(CacheEntry obj) => (int)obj.Hash ^ (int)(obj.Hash >> 32);
}
