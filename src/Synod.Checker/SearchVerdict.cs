namespace Synod.Checker;

internal enum SearchVerdict
{
    Linearizable,
    NotLinearizable,

    /// <summary>The search hit its step limit or the deadline before reaching an answer.</summary>
    GaveUp,
}
