using System.Text.Json;
using KavachPolar.Storage;

namespace KavachPolar.Benefits;

/// <summary>
/// The one rule of access by benefit: a user holds a benefit while any of their grants of it is granted (Polar sends
/// <c>benefit_grant.revoked</c> for each grant, and a failed grant is neither granted nor revoked).
/// </summary>
internal static class BenefitHoldings
{
    /// <summary>Whether <paramref name="g"/> counts towards holding its benefit.</summary>
    public static bool Holds(BenefitGrantRecord g) => g.GrantedAt is not null;

    /// <summary>One entry per benefit held through <paramref name="grants"/> (one user's), by benefit id.</summary>
    public static List<KavachBenefit> Of(IEnumerable<BenefitGrantRecord> grants) =>
        [.. grants.Where(Holds)
            .GroupBy(g => g.BenefitId, StringComparer.Ordinal)
            .Select(Benefit)
            .OrderBy(b => b.GrantedAt)
            .ThenBy(b => b.BenefitId, StringComparer.Ordinal)];

    private static KavachBenefit Benefit(IGrouping<string, BenefitGrantRecord> grants)
    {
        var ordered = grants.OrderBy(g => g.GrantedAt).ThenBy(g => g.Id, StringComparer.Ordinal).ToList();
        // Type and description as last sent: the most recently written grant's.
        var latest = grants.OrderByDescending(g => g.VersionUs).ThenBy(g => g.Id, StringComparer.Ordinal).First();
        return new KavachBenefit
        {
            BenefitId = grants.Key,
            Type = latest.BenefitType,
            Description = latest.BenefitDescription,
            GrantedAt = ordered[0].GrantedAt!.Value,
            Grants = [.. ordered.Select(g => new KavachBenefitGrant
            {
                GrantId = g.Id,
                GrantedAt = g.GrantedAt!.Value,
                SubscriptionId = g.SubscriptionId,
                OrderId = g.OrderId,
                Properties = Properties(g.Properties),
            })],
        };
    }

    /// <summary>The stored properties as a cloned element (an empty object when unreadable).</summary>
    public static JsonElement Properties(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            using var empty = JsonDocument.Parse("{}");
            return empty.RootElement.Clone();
        }
    }
}
