namespace KavachPolar.Callbacks;

/// <summary>A callback told to stop at shutdown that is still running: its row keeps its lease.</summary>
internal sealed class StillRunningException : Exception
{
    public StillRunningException()
        : base("The callback is still running.")
    {
    }
}
