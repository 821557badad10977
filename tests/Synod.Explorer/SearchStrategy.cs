namespace Synod.Explorer;

/// <summary>How the explorer walks the tree of schedules.</summary>
public enum SearchStrategy
{
    /// <summary>Breadth first: the first violation found has the shortest schedule there is within the budget.</summary>
    Bfs,

    /// <summary>Depth first to the depth bound; a state is expanded again only when reached by a shorter schedule.</summary>
    Dfs,

    /// <summary>Depth first with the bound raised one step at a time: shortest schedules, BFS's result in DFS's memory.</summary>
    IterativeDeepening,

    /// <summary>Random schedules to the depth bound, restarted from the initial state, until the state budget is spent.</summary>
    RandomWalk,

    /// <summary>Coarse episodes around an interrupted election (<see cref="InterruptedElectionSearch"/>), every combination within its bounds.</summary>
    InterruptedElection,
}
