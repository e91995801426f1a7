namespace KavachPolar;

/// <summary>Authorization policies KavachPolar registers.</summary>
public static class KavachPolarPolicies
{
    /// <summary>
    /// Signed in with an entitled subscription (active or trialing), of any product: for
    /// <c>[Authorize(Policy = KavachPolarPolicies.Subscribed)]</c>, Razor Pages conventions and
    /// <c>RequireAuthorization(KavachPolarPolicies.Subscribed)</c>. It reads this app's database only, never Polar.
    /// For particular products use <c>RequireSubscription("pro", ...)</c> on an endpoint or group.
    /// </summary>
    public const string Subscribed = "KavachPolar.Subscribed";
}
