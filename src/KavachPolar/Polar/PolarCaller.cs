namespace KavachPolar.Polar;

/// <summary>
/// The user on whose behalf the Polar calls of the current flow are made, for <see cref="PolarRequestBudget"/>'s fair
/// share. Set by the use cases (checkout, plan management, portal, reconcile) for the length of one call; calls made
/// outside any (<c>ReconcileAllAsync</c>) are counted as the application's own.
/// </summary>
internal static class PolarCaller
{
    private static readonly AsyncLocal<string?> CurrentUser = new();

    /// <summary>The user of the current flow, or <see langword="null"/> outside a user's flow.</summary>
    public static string? Current => CurrentUser.Value;

    /// <summary>Attributes the Polar calls made until the returned scope is disposed to <paramref name="userId"/>.</summary>
    public static Scope For(string userId)
    {
        var previous = CurrentUser.Value;
        CurrentUser.Value = userId;
        return new Scope(previous);
    }

    /// <summary>Restores the previous caller when disposed.</summary>
    internal readonly struct Scope(string? previous) : IDisposable
    {
        public void Dispose() => CurrentUser.Value = previous;
    }
}
