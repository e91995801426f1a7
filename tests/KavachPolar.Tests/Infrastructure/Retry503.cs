using System.Net;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Sends a request again while it answers 503 (for up to a minute), as a browser's user or Polar's retrying sender
/// would: a setup step on a loaded machine can outlast the database's time budget once, which is the designed answer
/// (503, try again), not what the test is about. Any other status is returned at once.
/// </summary>
internal static class Retry503
{
    public static async Task<HttpResponseMessage> SendAsync(Func<Task<HttpResponseMessage>> send, CancellationToken ct) =>
        (await SendCountingAsync(send, ct)).Response;

    /// <summary>
    /// As <see cref="SendAsync"/>, and whether a 503 made it send again: a webhook resent with the same id after an
    /// attempt that committed before its answer was lost is answered <c>duplicate</c>, which only a resend explains.
    /// </summary>
    public static async Task<(HttpResponseMessage Response, bool Resent)> SendCountingAsync(Func<Task<HttpResponseMessage>> send, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var resent = false;
        var response = await send();
        while (response.StatusCode == HttpStatusCode.ServiceUnavailable && clock.Elapsed < TimeSpan.FromMinutes(1))
        {
            response.Dispose();
            // The pause a retrying client makes (Retry-After's spirit), not a wait for an event.
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            resent = true;
            response = await send();
        }

        return (response, resent);
    }
}
