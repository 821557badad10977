using Synod.Core;

namespace Synod.Simulation;

/// <summary>
/// Handovers in a run (<see cref="SimulationOptions.HandoverProbability"/>): now and then the leader is asked, through
/// the driver call that `synod member remove` of a leader uses, to hand its leadership to a voter — half the time one
/// drawn at random (which may be down, cut off or behind), half the time the one the driver picks — while every other
/// fault goes on. Linearizability is the oracle: a handover, like any election, must never cost a chosen value.
/// </summary>
public sealed partial class Simulator
{
    private readonly SeededRandom _handoverRandom;

    /// <summary>Whether this run's leaders are asked to hand over (drawn per run, from its own stream).</summary>
    public bool HandingOver { get; }

    private void ScheduleNextHandover()
    {
        if (!HandingOver)
        {
            return;
        }

        // handover-skips-phase1 shows only when a TimeoutNow arrives after its handover was given up: four times as often.
        var gap = (Options.Bugs & ProtocolBugs.HandoverSkipsPhase1) != 0 ? Options.HandoverGapMsMean / 4 : Options.HandoverGapMsMean;
        Schedule(NowMs + 1 + _handoverRandom.Next(2 * gap), Tracing ? "handover" : null, () =>
        {
            if (_leaseHoldersStopped)
            {
                return;
            }

            var leader = CurrentLeader;
            if (leader is not null)
            {
                var voters = leader.Core.CurrentConfiguration.Voters.Where(id => id != leader.Id).ToList();
                int? target = voters.Count > 0 && _handoverRandom.Chance(0.5) ? voters[_handoverRandom.Next(voters.Count)] : null;
                var givenUp = leader.Core.HandoversGivenUp;
                NoteLeadershipEvent();
                if (leader.HandOver(target) is null)
                {
                    Faults.Handovers++;
                    var core = leader.Core;
                    Schedule(NowMs + (3L * core.Options.ElectionTimeoutTicks * Options.TickMs), null, () =>
                    {
                        if (leader.Up && ReferenceEquals(leader.Core, core) && core.HandoversGivenUp > givenUp)
                        {
                            Faults.HandoversGivenUp++;
                        }
                    });
                }
            }

            ScheduleNextHandover();
        });
    }
}
