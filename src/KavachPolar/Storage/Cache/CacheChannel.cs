namespace KavachPolar.Storage.Cache;

/// <summary>
/// The one PostgreSQL channel that keeps every instance's <see cref="SubscriptionCache"/> true: its sending end is
/// <see cref="CacheAnnouncer"/> (after a commit, the users it changed), its hearing end <see cref="CacheListener"/> (forgets
/// them). A payload is a user id, or empty (<see cref="WaitingAnnouncements.Everyone"/>) for "forget everyone".
/// </summary>
internal static class CacheChannel
{
    /// <summary>The channel's name, for <c>NOTIFY</c> and <c>LISTEN</c>.</summary>
    public const string Name = "kavach_polar_users";
}
