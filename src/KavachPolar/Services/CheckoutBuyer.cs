namespace KavachPolar.Services;

/// <summary>Who is buying: the signed-in user as the claims say.</summary>
internal sealed record CheckoutBuyer(string Id, string? Email, string? Name);
