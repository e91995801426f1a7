using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>What <see cref="CheckoutService.CreateAsync"/> did: a checkout, or an error code and what goes with it.</summary>
internal sealed class CheckoutOutcome
{
    public string? Url { get; init; }

    public string? CheckoutId { get; init; }

    public string? ErrorCode { get; init; }

    public PolarApiError? PolarError { get; init; }

    /// <summary>For <see cref="KavachPolarErrorCodes.AlreadySubscribed"/>: the subscription the user has.</summary>
    public KavachSubscription? Subscription { get; init; }

    public bool Succeeded => ErrorCode is null;

    public static CheckoutOutcome Failed(string code, KavachSubscription? subscription = null) => new() { ErrorCode = code, Subscription = subscription };

    public static CheckoutOutcome Failed(PolarApiError error) => new() { ErrorCode = ResultCodes.For(error), PolarError = error };
}
