namespace KavachPolar.Storage;

/// <summary>
/// A user the host asked KavachPolar to forget (<c>kavach_polar_forgotten_users</c>): webhooks and reconciles
/// that name this user id, or this Polar customer, are recorded and acknowledged but never recreate the user's row.
/// </summary>
internal sealed class ForgottenUserRecord
{
    /// <summary>The application's user id.</summary>
    public required string UserId { get; set; }

    /// <summary>The Polar customer that was bound to the user when it was forgotten, if any.</summary>
    public string? PolarCustomerId { get; set; }

    public DateTimeOffset ForgottenAt { get; set; }
}
