using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Synod.Chaos;

/// <summary>Every fault, recovery and notable observation of a run, in order; safe to read while the run adds to it.</summary>
internal sealed class FaultTimeline
{
    public const string Kill = "kill";
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Restart = "restart";
    public const string Wipe = "wipe";
    public const string Partition = "partition";
    public const string Loss = "loss";
    public const string Delay = "delay";
    public const string Heal = "heal";
    public const string Exit = "exit";
    public const string Leader = "leader";
    public const string Rebuilt = "rebuilt";
    public const string Replace = "replace";
    public const string Resize = "resize";
    public const string Member = "member";
    public const string Stopped = "stopped";
    public const string Start = "start";

    private readonly List<FaultEvent> _events = [];
    private readonly Lock _gate = new();

    public void Add(FaultEvent faultEvent)
    {
        lock (_gate)
        {
            _events.Add(faultEvent);
        }
    }

    public IReadOnlyList<FaultEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>How many events of this kind happened; a kill of two replicas counts as two kills.</summary>
    public int CountReplicas(string kind)
    {
        lock (_gate)
        {
            return _events.Where(e => e.Kind == kind).Sum(e => e.Replicas.Count);
        }
    }

    public int CountEvents(string kind, bool majorityOnly = false)
    {
        lock (_gate)
        {
            return _events.Count(e => e.Kind == kind && (!majorityOnly || e.Majority));
        }
    }

    /// <summary>One JSON object per line: {"time": 3.21, "event": "kill", "replicas": [3], "majority": false, "detail": "..."}.</summary>
    public static void WriteJsonl(TextWriter writer, IEnumerable<FaultEvent> events)
    {
        foreach (var e in events)
        {
            var line = new StringBuilder();
            line.Append("{\"time\": ").Append(Math.Round(e.Time, 3).ToString("R", CultureInfo.InvariantCulture))
                .Append(", \"event\": ").Append(Text(e.Kind))
                .Append(", \"replicas\": [").Append(string.Join(", ", e.Replicas)).Append(']')
                .Append(", \"majority\": ").Append(e.Majority ? "true" : "false")
                .Append(", \"detail\": ").Append(Text(e.Detail))
                .Append('}');
            writer.Write(line.ToString());
            writer.Write('\n');
        }
    }

    private static string Text(string value) => "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";
}
