using System.Text.Json;
using KavachPolar.Storage;

namespace KavachPolar.Callbacks;

/// <summary>
/// A benefit change as <c>kavach_polar_callbacks.change</c> keeps it: the change's camelCase JSON with
/// <c>"kind":"benefit"</c> first (subscription changes, written by earlier releases and by the webhook function, carry
/// no kind). One outbox for both kinds keeps one order per user.
/// </summary>
internal static class BenefitCallback
{
    private const string Prefix = "{\"kind\":\"benefit\",";

    public static string Serialize(KavachBenefitChange change) =>
        Prefix + JsonSerializer.Serialize(change, OutboxJsonContext.Default.KavachBenefitChange)[1..];

    /// <summary>Whether a stored change is a benefit change.</summary>
    public static bool Is(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    public static KavachBenefitChange Deserialize(string stored) =>
        JsonSerializer.Deserialize(stored, OutboxJsonContext.Default.KavachBenefitChange) ?? throw new JsonException("The stored change is null.");
}
