using System.Text.Json;

namespace KavachPolar.Polar;

/// <summary>The metadata KavachPolar writes on Polar objects.</summary>
internal static class PolarMetadata
{
    /// <summary>
    /// The key under which checkout (and customer) metadata carries the app's user id. Polar copies a checkout's
    /// metadata onto the subscription it creates, so the subscription names the user who started that checkout.
    /// </summary>
    public const string UserIdKey = "kavach_user_id";

    /// <summary>The user id in <paramref name="metadata"/>, or <see langword="null"/> when absent or not a string.</summary>
    public static string? UserId(IReadOnlyDictionary<string, JsonElement>? metadata) =>
        metadata is not null && metadata.TryGetValue(UserIdKey, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
