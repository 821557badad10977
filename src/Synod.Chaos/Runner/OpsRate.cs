namespace Synod.Chaos;

/// <summary>Successful operations per second between two looks at the progress.</summary>
internal sealed class OpsRate
{
    private int _ok;
    private double _at;
    private double _rate;

    public double Update(ChaosProgress progress)
    {
        var seconds = progress.Elapsed - _at;
        if (seconds >= 0.2)
        {
            _rate = (progress.Ok - _ok) / seconds;
            _ok = progress.Ok;
            _at = progress.Elapsed;
        }

        return _rate;
    }
}
