using System.Text.Json;
using KavachPolar.Sample.Hosting;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace KavachPolar.Sample.Pages;

/// <summary>
/// Downloads, only for holders of the benefit configured as <c>KavachPolar:Benefits:downloads</c> (a Polar
/// <c>downloadables</c> benefit): <see cref="RequireBenefitAttribute"/> reads the user's benefits from this app's
/// database (cached), never from Polar, so a revoke closes the page as soon as its webhook is in.
/// </summary>
[RequireBenefit(Slug)]
public sealed class DownloadsModel(IKavachPolarEntitlements entitlements, IOptions<KavachPolarOptions> options) : PageModel
{
    /// <summary>The benefit's slug in <c>KavachPolar:Benefits</c>.</summary>
    public const string Slug = "downloads";

    public KavachBenefit? Benefit { get; private set; }

    /// <summary>Polar's file ids from the user's grants (<c>properties.files</c>), each once.</summary>
    public IReadOnlyList<string> Files { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var benefitId = options.Value.Benefits.TryGetValue(Slug, out var id) ? id : Slug;
        var benefits = await entitlements.GetBenefitsAsync(User.UserId()!, cancellationToken);
        Benefit = benefits.FirstOrDefault(b => b.BenefitId == benefitId);
        Files = (Benefit?.Grants ?? [])
            .SelectMany(g => g.Properties is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty("files", out var files) && files.ValueKind == JsonValueKind.Array
                ? files.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!)
                : [])
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }
}
