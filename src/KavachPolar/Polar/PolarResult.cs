namespace KavachPolar.Polar;

/// <summary>A Polar call's value or its error; expected failures are values, not exceptions.</summary>
internal readonly record struct PolarResult<T>(T? Value, PolarApiError? Error)
{
    public bool IsSuccess => Error is null;

    public static PolarResult<T> Success(T value) => new(value, null);

    public static PolarResult<T> Failure(PolarApiError error) => new(default, error);
}
