namespace Synod.Checker;

/// <summary>The three operations of the key-value model; each touches exactly one key.</summary>
public enum OperationKind
{
    Get,
    Put,
    Delete,
}
