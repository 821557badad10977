namespace Synod.Explorer;

/// <summary>Which interrupted elections the interrupted-election search starts from.</summary>
public enum InterruptionShapes
{
    /// <summary>One: the largest replica hears pre-votes from the two smallest (q−1 in general), the larger of them promises, and it stands twice.</summary>
    Canonical,

    /// <summary>Every choice of the q−1 replicas whose pre-votes it hears, of at most q−2 replicas whose promises it receives, and of standing once or twice.</summary>
    All,
}
