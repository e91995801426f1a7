using System.Security.Cryptography;

namespace KavachPolar.Testing.State;

/// <summary>Identifiers in Polar's formats: UUID version 4 and <c>prefix_</c> tokens.</summary>
internal static class Ids
{
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A random lowercase UUID version 4.</summary>
    public static string NewUuid() => Guid.NewGuid().ToString("D");

    /// <summary>Polar's <c>generate_token</c> shape: prefix, 37 alphanumerics and 6 more characters.</summary>
    public static string NewToken(string prefix) => prefix + RandomNumberGenerator.GetString(Alphanumeric, 43);

    /// <summary>Whether <paramref name="value"/> is a UUID of version 4, in any accepted spelling.</summary>
    public static bool IsUuid4(string value) => Guid.TryParse(value, out var g) && g.Version == 4;
}
