using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Http;

/// <summary>
/// The one way KavachPolar reads a request body: at most a limit, whatever <c>Content-Length</c> claims, within a
/// time limit, into a pooled buffer that starts small and grows only as bytes arrive, so that a client claiming a
/// large body and sending it slowly (or never) pins little memory.
/// </summary>
internal static class BodyReader
{
    /// <summary>The first buffer's size at most: a typical Polar delivery (a few KiB) fits; more grows it by doubling.</summary>
    public const int InitialBufferBytes = 16 * 1024;

    /// <summary>How long a body may take to arrive in full.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public enum Failure
    {
        None,
        TooLarge,
        Incomplete,
    }

    /// <summary>A body read in full (<see cref="Buffer"/> rented: give it back with <see cref="Return"/>), or why not.</summary>
    public readonly record struct Result(byte[]? Buffer, int Length, Failure Failure);

    public static async Task<Result> ReadAsync(HttpRequest request, int max, CancellationToken ct)
    {
        if (request.ContentLength > max)
        {
            return new Result(null, 0, Failure.TooLarge);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        var initial = (int)Math.Min(max + 1L, Math.Min(InitialBufferBytes, request.ContentLength is { } cl ? cl + 1 : InitialBufferBytes));
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, initial));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max)
                    {
                        Return(buffer);
                        return new Result(null, 0, Failure.TooLarge);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1L, buffer.Length * 2L));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > max)
                {
                    Return(buffer);
                    return new Result(null, 0, Failure.TooLarge);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or BadHttpRequestException or IOException)
        {
            Return(buffer);
            return new Result(null, 0, Failure.Incomplete);
        }

        return new Result(buffer, length, Failure.None);
    }

    public static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);
}
