namespace Synod.Simulation;

/// <summary>
/// A fault with a schedule of its own, written from a schedule that broke the protocol once (issue 13): it cuts links,
/// holds chosen messages, slows a clock, crashes or wipes replicas at chosen steps, and leaves every decision to the
/// cores. The seed picks the replicas and the timings. While one runs, the simulator injects no other fault (loss and
/// duplication go on), and the safety phase does not end before it does.
/// </summary>
public interface ITargetedFault
{
    /// <summary>Called for every peer message sent while the fault runs, before the network sees it.</summary>
    MessageRoute Route(Synod.Core.Messages.Message message);

    /// <summary>Called as a peer message arrives while the fault runs (it may have been sent long before): false loses it.</summary>
    bool Admits(Synod.Core.Messages.Message message);
}
