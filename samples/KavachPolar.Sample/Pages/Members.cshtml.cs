using KavachPolar.Sample.Hosting;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace KavachPolar.Sample.Pages;

/// <summary>
/// The members area (subscribers only, <c>KavachPolarPolicies.Subscribed</c>) with a usage-billed action: an "AI summary"
/// of the day's prompt, recorded as one <c>ai.summary</c> event through <see cref="IKavachPolarUsage.RecordAsync"/> with
/// the tokens it cost. The event waits in this app's database until KavachPolar's sender delivers it to Polar, so the
/// page never waits on Polar and a slow or failing Polar loses nothing.
/// </summary>
public sealed class MembersModel(IKavachPolarUsage usage) : PageModel
{
    /// <summary>The event name Polar's "AI tokens" meter counts (the emulator's demo meter sums its <c>tokens</c>).</summary>
    public const string SummaryEvent = "ai.summary";

    /// <summary>Today's writing prompt, the text the summary is made of.</summary>
    public const string Prompt = "Write the letter your future reader will open in ten years.";

    /// <summary>The summary just made, if the page was posted.</summary>
    public string? Summary { get; private set; }

    /// <summary>The tokens the summary cost (its input and output words, as a stand-in for a model's count).</summary>
    public int Tokens { get; private set; }

    /// <summary>The <c>external_id</c> the usage event got: Polar counts it once however often it is sent.</summary>
    public string? EventId { get; private set; }

    public void OnGet()
    {
    }

    /// <summary>Makes a summary and records its usage; the page shows it directly (a reload asks again, and counts again).</summary>
    public async Task OnPostSummarizeAsync(CancellationToken cancellationToken)
    {
        Summary = Summarize(Prompt);
        Tokens = CountWords(Prompt) + CountWords(Summary);
        EventId = await usage.RecordAsync(
            User.UserId()!,
            SummaryEvent,
            new Dictionary<string, object> { ["tokens"] = Tokens, ["model"] = "sample-summarizer", ["feature"] = "members-prompt" },
            cancellationToken: cancellationToken);
    }

    /// <summary>A deterministic stand-in for a model: the prompt's longest words, in their order.</summary>
    internal static string Summarize(string text)
    {
        var words = text.TrimEnd('.').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var kept = words.Select((w, i) => (w, i)).OrderByDescending(x => x.w.Length).Take(4).OrderBy(x => x.i).Select(x => x.w);
        return string.Join(' ', kept) + ".";
    }

    private static int CountWords(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
}
