namespace KavachPolar.Testing.State;

/// <summary>A snapshot of what the hosted checkout page shows.</summary>
internal sealed record CheckoutView(
    string Id,
    string Status,
    string ProductName,
    string? ProductDescription,
    long PriceAmount,
    string Currency,
    string? RecurringInterval,
    int? RecurringIntervalCount,
    string? TrialInterval,
    int? TrialIntervalCount,
    string? CustomerEmail,
    string? CustomerName,
    bool EmailLocked,
    string? ReturnUrl,
    string SuccessUrl);
