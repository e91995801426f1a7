namespace KavachPolar;

/// <summary>The outcome of <see cref="IKavachPolarSubscriptions.CreatePortalSessionAsync"/>.</summary>
public sealed class KavachPortalSessionResult
{
    /// <summary>Whether Polar created the session.</summary>
    public required bool Succeeded { get; init; }

    /// <summary>Polar's customer portal URL for the user, valid for about an hour. Send the user there at once.</summary>
    public Uri? Url { get; init; }

    /// <summary>A <see cref="KavachPolarErrorCodes"/> value when it failed (e.g. <see cref="KavachPolarErrorCodes.NoCustomer"/>).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>For <see cref="KavachPolarErrorCodes.PolarRateLimited"/>, how long Polar asked to wait.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
