namespace Synod.Simulation;

/// <summary>What a targeted fault does with one peer message (<see cref="ITargetedFault.Route"/>).</summary>
public enum MessageRoute
{
    /// <summary>The network as usual: delay, loss, duplication, and the partition in force.</summary>
    Default,

    /// <summary>Lost.</summary>
    Drop,

    /// <summary>Delivered after the usual short delay, whatever the partition (a link the fault keeps open for it).</summary>
    Deliver,

    /// <summary>Kept by the fault, which delivers it later or never.</summary>
    Hold,
}
