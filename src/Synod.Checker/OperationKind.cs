namespace Synod.Checker;

/// <summary>The operations of the key-value model; each touches exactly one key.</summary>
public enum OperationKind
{
    Get,
    Put,
    Delete,

    /// <summary>Compare-and-swap: writes <see cref="Operation.Value"/> only if the key holds <see cref="Operation.Expect"/>.</summary>
    Cas,
}
