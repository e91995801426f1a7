namespace KavachPolar.Polar;

/// <summary>One of Polar's validation errors: a dotted field path and Polar's message.</summary>
internal sealed record PolarFieldError(string Field, string Message, string? Type);
