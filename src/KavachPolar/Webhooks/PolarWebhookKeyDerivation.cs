using System.Text;

namespace KavachPolar.Webhooks;

/// <summary>
/// Turns a Polar webhook secret into the HMAC keys Polar may have signed with:
/// the UTF-8 bytes of the whole secret (Polar's original scheme, still used for older and
/// merchant-supplied secrets) and the base64-decoded part after <c>whsec_</c> (Standard Webhooks,
/// secrets generated since 2026-09-08). Which one an endpoint uses is not visible in the secret,
/// so both are tried, as Polar's SDK 1.0.x does.
/// </summary>
internal static class PolarWebhookKeyDerivation
{
    private const string StandardPrefix = "whsec_";

    /// <summary>
    /// The keys for every secret, in the order given (current secret first, then the rotation
    /// list), legacy key before standard key, without duplicates.
    /// </summary>
    /// <exception cref="ArgumentException">No secrets, or one of them is null, empty or blank.</exception>
    public static byte[][] DeriveKeys(IEnumerable<string> secrets, string paramName)
    {
        ArgumentNullException.ThrowIfNull(secrets, paramName);
        var keys = new List<byte[]>();
        foreach (var secret in secrets)
        {
            if (string.IsNullOrWhiteSpace(secret))
            {
                throw new ArgumentException("A webhook secret must not be null, empty or blank.", paramName);
            }

            var utf8Key = Encoding.UTF8.GetBytes(secret);
            AddDistinct(keys, utf8Key);

            var remainder = secret.StartsWith(StandardPrefix, StringComparison.Ordinal)
                ? secret.AsSpan(StandardPrefix.Length)
                : secret.AsSpan();
            var decoded = DecodeForgivingBase64(remainder);
            if (decoded is { Length: > 0 } && !decoded.AsSpan().SequenceEqual(utf8Key))
            {
                AddDistinct(keys, decoded);
            }
        }

        if (keys.Count == 0)
        {
            throw new ArgumentException("At least one webhook secret is required.", paramName);
        }

        return [.. keys];
    }

    /// <summary>
    /// Decodes base64 the way the WHATWG "forgiving-base64 decode" (JavaScript's <c>atob</c>, which
    /// Polar's SDK uses) does: ASCII whitespace is ignored, padding is optional, and leftover bits of
    /// an incomplete final group are discarded. Returns <see langword="null"/> instead of throwing,
    /// because a legacy secret's remainder is often not base64 at all; <see cref="Convert.FromBase64String"/>
    /// would reject the 43-character remainders that <c>atob</c> accepts.
    /// </summary>
    public static byte[]? DecodeForgivingBase64(ReadOnlySpan<char> input)
    {
        var compact = new char[input.Length];
        var length = 0;
        foreach (var c in input)
        {
            if (c is not (' ' or '\t' or '\n' or '\f' or '\r'))
            {
                compact[length++] = c;
            }
        }

        var data = compact.AsSpan(0, length);
        if (data.Length % 4 == 0)
        {
            if (data.EndsWith("=="))
            {
                data = data[..^2];
            }
            else if (data.EndsWith("="))
            {
                data = data[..^1];
            }
        }

        if (data.Length % 4 == 1)
        {
            return null;
        }

        var result = new byte[data.Length * 6 / 8];
        var written = 0;
        var buffer = 0;
        var bits = 0;
        foreach (var c in data)
        {
            var value = SextetOf(c);
            if (value < 0)
            {
                return null;
            }

            buffer = (buffer << 6) | value;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                result[written++] = (byte)(buffer >> bits);
                buffer &= (1 << bits) - 1;
            }
        }

        return result;
    }

    private static int SextetOf(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        '/' => 63,
        _ => -1,
    };

    private static void AddDistinct(List<byte[]> keys, byte[] key)
    {
        foreach (var existing in keys)
        {
            if (existing.AsSpan().SequenceEqual(key))
            {
                return;
            }
        }

        keys.Add(key);
    }
}
