namespace KavachPolar.Polar;

/// <summary>One of Polar's validation errors: a dotted field path, Polar's message and type, and its raw <c>loc</c>.</summary>
internal sealed record PolarFieldError(string Field, string Message, string? Type, System.Text.Json.JsonElement[]? Loc = null);
