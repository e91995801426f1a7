namespace KavachPolar.Testing.Api;

/// <summary>
/// One API operation: method, exact path template (trailing slash significant), the scopes of which the token needs
/// at least one (Polar's <c>Authenticator(required_scopes=...)</c>; empty: none) and handler.
/// </summary>
internal sealed class ApiRoute(string method, string template, string[] scopes, Func<ApiRequest, Task<ApiResult>> handler)
{
    private readonly string[] _segments = template.Split('/');

    public string Method { get; } = method;

    public string Template { get; } = template;

    public IReadOnlyList<string> Scopes { get; } = scopes;

    public Func<ApiRequest, Task<ApiResult>> Handler { get; } = handler;

    /// <summary>Whether a token with <paramref name="granted"/> may call this route: it holds one of <see cref="Scopes"/>.</summary>
    public bool Allows(IReadOnlySet<string> granted) => Scopes.Count == 0 || Scopes.Any(granted.Contains);

    /// <summary>Matches <paramref name="path"/> segment by segment; <c>{name}</c> captures one non-empty segment.</summary>
    public Dictionary<string, string>? Match(string path)
    {
        var parts = path.Split('/');
        if (parts.Length != _segments.Length)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < parts.Length; i++)
        {
            var segment = _segments[i];
            if (segment.StartsWith('{'))
            {
                if (parts[i].Length == 0)
                {
                    return null;
                }

                values[segment[1..^1]] = parts[i];
            }
            else if (!string.Equals(segment, parts[i], StringComparison.Ordinal))
            {
                return null;
            }
        }

        return values;
    }
}
