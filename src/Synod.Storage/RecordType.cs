namespace Synod.Storage;

/// <summary>The type byte of a WAL record. 5 was the snapshot record of format 1; format 2 keeps snapshots in files of their own.</summary>
internal enum RecordType : byte
{
    Promise = 1,
    Accept = 2,
    Chosen = 3,
    Commit = 4,
    Rebuild = 6,
    Voter = 7,
    Incarnation = 8,
    CheckpointMarker = 9,
    CheckpointEnd = 10,
    QueryRound = 11,
}
