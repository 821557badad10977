namespace Synod.Explorer;

/// <summary>One coarse step of the interrupted-election search: its kind, the replica it acts on, and the other replica it names (a link's receiver, the replica left out of a run; 0 for none).</summary>
public readonly record struct Episode(EpisodeKind Kind, int Replica, int Other = 0);
