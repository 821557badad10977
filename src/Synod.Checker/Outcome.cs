namespace Synod.Checker;

/// <summary>What the client learned about an operation.</summary>
public enum Outcome
{
    /// <summary>The operation completed and its result is known.</summary>
    Ok,

    /// <summary>The operation definitely did not take effect.</summary>
    Fail,

    /// <summary>The client gave up waiting: the operation may take effect at any time after its invocation, or never.</summary>
    Unknown,
}
