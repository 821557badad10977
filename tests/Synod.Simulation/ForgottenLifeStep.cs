namespace Synod.Simulation;

/// <summary>Where a <see cref="ForgottenLifeFault"/> is in its schedule.</summary>
public enum ForgottenLifeStep
{
    /// <summary>A quorum of followers is cut off from the leader until one of them stands.</summary>
    AwaitingCandidate,

    /// <summary>The candidate is isolated; its candidacies fail and its ballot climbs.</summary>
    Climbing,

    /// <summary>The first replica hears no one until the candidate's Prepare reaches it.</summary>
    Promising,

    /// <summary>It promised, lost its disk and rebuilds.</summary>
    FirstRebuild,

    /// <summary>A replica that answered its floor question lost its disk and rebuilds.</summary>
    SecondRebuild,

    /// <summary>The second one hears no one while the others choose, until the held Prepare reaches it.</summary>
    Quiet,

    /// <summary>The held Prepare was delivered; the candidate's ballot may lead.</summary>
    Released,

    Over,
}
