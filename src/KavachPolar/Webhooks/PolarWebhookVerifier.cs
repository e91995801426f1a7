using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace KavachPolar.Webhooks;

/// <summary>
/// Verifies Polar webhook deliveries: the Standard Webhooks headers <c>webhook-id</c>,
/// <c>webhook-timestamp</c> and <c>webhook-signature</c> against the raw request body, with both of
/// Polar's key derivations for every configured secret.
/// </summary>
/// <remarks>
/// <para>
/// The signed content is <c>UTF-8(id + "." + timestamp + ".")</c> followed by the body bytes exactly as
/// received; any <c>v1,&lt;base64&gt;</c> entry of the space-separated signature header may match, and
/// signatures are compared in constant time.
/// </para>
/// <para>
/// Construct one instance per set of secrets and keep it (keys are derived once, here), for example
/// rebuilding it only when the options change. <see cref="Verify"/> is thread-safe, never throws for
/// any input and does not allocate after its first call on a thread: each thread keeps one HMAC context
/// per key for the verifier it last used, so alternating between several instances on one thread
/// works but rebuilds those contexts each time.
/// </para>
/// </remarks>
public sealed class PolarWebhookVerifier
{
    /// <summary>Longest <c>webhook-id</c> accepted. Polar sends a UUID (36 characters).</summary>
    internal const int MaxWebhookIdLength = 256;

    // long.MaxValue has 19 digits; longer strings (even with leading zeros) are not what Polar sends.
    private const int MaxTimestampLength = 19;
    private const int MaxPrefixLength = MaxWebhookIdLength + 1 + MaxTimestampLength + 1;
    private const int SignatureLength = 32;

    // "v1," followed by the padded base64 of 32 bytes (44 characters); anything else cannot be a v1 HMAC-SHA256.
    private const int V1EntryLength = 3 + 44;

    private static long s_nextInstanceId;

    [ThreadStatic]
    private static long t_hmacsOwnerId;

    [ThreadStatic]
    private static IncrementalHash?[]? t_hmacs;

    private readonly byte[][] _keys;
    private readonly long _toleranceSeconds;
    private readonly TimeProvider _timeProvider;
    private readonly long _instanceId;

    // Index of the key that matched last. Polar signs all deliveries of an endpoint with the same key,
    // so trying it first makes the usual delivery cost one HMAC even when that key is a secret's second one.
    private volatile int _lastMatchedKey;

    /// <summary>Creates a verifier for the given secrets.</summary>
    /// <param name="secrets">
    /// The endpoint secrets as Polar's dashboard shows them (<c>whsec_...</c> or <c>polar_whs_...</c>):
    /// the current secret first, then previous ones still accepted during a rotation. For each, both the
    /// UTF-8 bytes of the whole string and, when it is base64 after an optional <c>whsec_</c>, the decoded
    /// bytes are accepted as HMAC keys.
    /// </param>
    /// <param name="tolerance">
    /// Largest accepted difference between <c>webhook-timestamp</c> and now, in both directions, in whole
    /// seconds (exactly the tolerance is accepted). Polar's SDK uses 5 minutes.
    /// </param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="secrets"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">There is no secret, or a secret is null, empty or blank.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tolerance"/> is zero or negative.</exception>
    public PolarWebhookVerifier(IEnumerable<string> secrets, TimeSpan tolerance, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(tolerance, TimeSpan.Zero);
        _keys = PolarWebhookKeyDerivation.DeriveKeys(secrets, nameof(secrets));
        _toleranceSeconds = tolerance.Ticks / TimeSpan.TicksPerSecond;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _instanceId = Interlocked.Increment(ref s_nextInstanceId);
    }

    /// <summary>Number of HMAC keys derived from the secrets (for tests and diagnostics).</summary>
    internal int KeyCount => _keys.Length;

    /// <summary>Index of the key tried first on the next call (for tests).</summary>
    internal int LastMatchedKey => _lastMatchedKey;

    /// <summary>Checks one delivery.</summary>
    /// <param name="webhookId">The <c>webhook-id</c> header value, or <see langword="null"/> when absent.</param>
    /// <param name="webhookTimestamp">The <c>webhook-timestamp</c> header value (Unix seconds), or <see langword="null"/>.</param>
    /// <param name="webhookSignature">The <c>webhook-signature</c> header value, or <see langword="null"/>.</param>
    /// <param name="body">The raw request body, exactly as received.</param>
    /// <returns>
    /// <see cref="PolarWebhookVerificationStatus.Valid"/>, or the first problem found, checked in this order:
    /// missing headers, malformed headers, timestamp outside the tolerance, no matching signature.
    /// </returns>
    public PolarWebhookVerificationResult Verify(string? webhookId, string? webhookTimestamp, string? webhookSignature, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrEmpty(webhookId) || string.IsNullOrEmpty(webhookTimestamp) || string.IsNullOrEmpty(webhookSignature))
        {
            return new(PolarWebhookVerificationStatus.MissingHeader);
        }

        // Syntax is judged before the clock and the signature, so a malformed request is always a 400
        // whatever its timestamp.
        if (!IsWellFormedId(webhookId)
            || !TryParseTimestamp(webhookTimestamp, out var timestamp)
            || !ScanSignatureHeader(webhookSignature, out var hasV1Candidate))
        {
            return new(PolarWebhookVerificationStatus.MalformedHeader);
        }

        var now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (timestamp < now - _toleranceSeconds)
        {
            return new(PolarWebhookVerificationStatus.TimestampTooOld);
        }

        if (timestamp > now + _toleranceSeconds)
        {
            return new(PolarWebhookVerificationStatus.TimestampTooNew);
        }

        if (!hasV1Candidate)
        {
            return new(PolarWebhookVerificationStatus.SignatureMismatch);
        }

        Span<byte> prefixBuffer = stackalloc byte[MaxPrefixLength];
        var prefix = WritePrefix(prefixBuffer, webhookId, webhookTimestamp);
        Span<byte> mac = stackalloc byte[SignatureLength];
        var hmacs = GetThreadHmacs();

        var first = _lastMatchedKey;
        ComputeMac(hmacs, first, prefix, body, mac);
        if (HeaderHasSignature(webhookSignature, mac))
        {
            return new(PolarWebhookVerificationStatus.Valid);
        }

        for (var k = 0; k < _keys.Length; k++)
        {
            if (k == first)
            {
                continue;
            }

            ComputeMac(hmacs, k, prefix, body, mac);
            if (HeaderHasSignature(webhookSignature, mac))
            {
                _lastMatchedKey = k;
                return new(PolarWebhookVerificationStatus.Valid);
            }
        }

        return new(PolarWebhookVerificationStatus.SignatureMismatch);
    }

    // The id is part of the signed string: a '.' would make "id.timestamp." ambiguous, and restricting it to
    // printable ASCII (Polar sends a UUID) keeps its UTF-8 form one byte per character. A plain loop, because
    // MemoryExtensions.IndexOfAnyExceptInRange allocates on every call on .NET 10.0.12.
    private static bool IsWellFormedId(string id)
    {
        if (id.Length > MaxWebhookIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is < '!' or > '~' or '.')
            {
                return false;
            }
        }

        return true;
    }

    // Plain decimal digits only: no sign, spaces or decimals, and no silent overflow.
    private static bool TryParseTimestamp(string text, out long value)
    {
        value = 0;
        if (text.Length > MaxTimestampLength)
        {
            return false;
        }

        foreach (var c in text)
        {
            var digit = (uint)(c - '0');
            if (digit > 9 || value > (long.MaxValue - digit) / 10)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }

    // A header is well-formed when at least one space-separated entry looks like "vN,..."; entries of other
    // versions and odd payloads are skipped rather than rejected, as the Standard Webhooks libraries do.
    // Entries are cut with IndexOf rather than MemoryExtensions.Split, which costs several times more here.
    private static bool ScanSignatureHeader(string header, out bool hasV1Candidate)
    {
        hasV1Candidate = false;
        var wellFormed = false;
        var rest = header.AsSpan();
        while (true)
        {
            var space = rest.IndexOf(' ');
            var entry = space < 0 ? rest : rest[..space];
            if (IsVersionedEntry(entry))
            {
                wellFormed = true;
                if (IsV1Candidate(entry))
                {
                    hasV1Candidate = true;
                    return true;
                }
            }

            if (space < 0)
            {
                return wellFormed;
            }

            rest = rest[(space + 1)..];
        }
    }

    private static bool IsVersionedEntry(ReadOnlySpan<char> entry)
    {
        if (entry.Length < 3 || entry[0] != 'v')
        {
            return false;
        }

        var i = 1;
        while (i < entry.Length && char.IsAsciiDigit(entry[i]))
        {
            i++;
        }

        return i > 1 && i < entry.Length && entry[i] == ',';
    }

    // "v1," and the canonical padded base64 of 32 bytes: 43 characters and '='. The last character before the
    // padding carries 2 unused bits, which must be zero (A, E, I, ... 8) so that no second spelling of a valid
    // signature is accepted; Convert.TryFromBase64Chars ignores those bits.
    private static bool IsV1Candidate(ReadOnlySpan<char> entry) =>
        entry.Length == V1EntryLength
        && entry[0] == 'v' && entry[1] == '1' && entry[2] == ','
        && entry[^1] == '='
        && entry[^2] is 'A' or 'E' or 'I' or 'M' or 'Q' or 'U' or 'Y' or 'c' or 'g' or 'k' or 'o' or 's' or 'w' or '0' or '4' or '8';

    private static bool HeaderHasSignature(string header, ReadOnlySpan<byte> mac)
    {
        Span<byte> candidate = stackalloc byte[SignatureLength];
        var rest = header.AsSpan();
        while (true)
        {
            var space = rest.IndexOf(' ');
            var entry = space < 0 ? rest : rest[..space];

            // 44 characters that decode to exactly 32 bytes cannot hide whitespace, which TryFromBase64Chars
            // would skip. FixedTimeEquals runs unoptimized by design (about 3 ns a byte here), so the 32 decoded
            // bytes are compared rather than the 44 characters.
            if (IsV1Candidate(entry)
                && Convert.TryFromBase64Chars(entry[3..], candidate, out var written)
                && written == SignatureLength
                && CryptographicOperations.FixedTimeEquals(candidate, mac))
            {
                return true;
            }

            if (space < 0)
            {
                return false;
            }

            rest = rest[(space + 1)..];
        }
    }

    private static ReadOnlySpan<byte> WritePrefix(Span<byte> buffer, string id, string timestamp)
    {
        // Both were checked to be ASCII, so UTF-8 and ASCII agree and each character is one byte.
        Ascii.FromUtf16(id, buffer, out var length);
        buffer[length++] = (byte)'.';
        Ascii.FromUtf16(timestamp, buffer[length..], out var written);
        length += written;
        buffer[length++] = (byte)'.';
        return buffer[..length];
    }

    private void ComputeMac(IncrementalHash?[] hmacs, int keyIndex, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        // An HMAC context keeps the key's inner and outer pad state, so reusing it saves the key setup a
        // one-shot HMAC repeats on every call, and appending prefix and body separately avoids copying the body.
        var hmac = hmacs[keyIndex] ??= IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _keys[keyIndex]);
        try
        {
            hmac.AppendData(prefix);
            hmac.AppendData(body);
            hmac.GetHashAndReset(mac);
        }
        catch
        {
            // Never leave a half-fed context behind for the next delivery on this thread.
            hmacs[keyIndex] = null;
            hmac.Dispose();
            throw;
        }
    }

    private IncrementalHash?[] GetThreadHmacs()
    {
        var hmacs = t_hmacs;
        return hmacs is not null && t_hmacsOwnerId == _instanceId ? hmacs : CreateThreadHmacs();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private IncrementalHash?[] CreateThreadHmacs()
    {
        // The contexts of another verifier (e.g. one replaced after a secret rotation) are freed here
        // rather than left holding old keys until the thread ends.
        if (t_hmacs is { } previous)
        {
            foreach (var hmac in previous)
            {
                hmac?.Dispose();
            }
        }

        var hmacs = new IncrementalHash?[_keys.Length];
        t_hmacs = hmacs;
        t_hmacsOwnerId = _instanceId;
        return hmacs;
    }
}
