using System.Text.Json;
using System.Text.Json.Serialization;

namespace KavachPolar.Storage;

/// <summary>
/// The stored format of a pending callback (<c>kavach_polar_callbacks.change</c>): a
/// <see cref="KavachSubscriptionChange"/> as camelCase JSON. Its own contract, so that the HTTP contract can
/// change without changing rows already written; keep it readable by the previous release.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(KavachSubscriptionChange))]
[JsonSerializable(typeof(KavachBenefitChange))]
internal sealed partial class OutboxJsonContext : JsonSerializerContext;
