namespace KavachPolar;

/// <summary>
/// What a user may use, by benefit, from this app's database (the per-instance read cache, emptied on every instance
/// within a second of a change), never from Polar. Register nothing: <c>AddKavachPolar</c> does.
/// </summary>
public interface IKavachPolarEntitlements
{
    /// <summary>
    /// Whether the user holds <paramref name="benefit"/> (a Polar benefit id, or a slug of
    /// <see cref="KavachPolarOptions.Benefits"/>): any of their grants of it is granted. A failed grant (a Discord or
    /// GitHub account not linked yet) does not count; a revoked grant does not end access while another grant holds it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="benefit"/> is neither a UUID nor a configured slug.</exception>
    Task<bool> HasBenefitAsync(string userId, string benefit, CancellationToken cancellationToken = default);

    /// <summary>The benefits the user holds, one entry per benefit, with the granted grants that hold each.</summary>
    Task<IReadOnlyList<KavachBenefit>> GetBenefitsAsync(string userId, CancellationToken cancellationToken = default);
}
