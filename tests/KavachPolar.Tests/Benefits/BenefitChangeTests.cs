using System.Collections.Concurrent;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Benefits.BenefitSteps;

namespace KavachPolar.Tests.Benefits;

/// <summary>
/// <c>OnBenefitChange</c>: fired after commit when a user's hold on a benefit begins or ends, not per grant, through the
/// same outbox as subscription changes.
/// </summary>
public sealed class BenefitChangeTests : PolarAppTest
{
    private readonly ConcurrentQueue<KavachBenefitChange> _changes = new();

    private string Pro => Polar.Products[0].Id;

    private string Team => Polar.Products[1].Id;

    protected override PolarEmulatorOptions EmulatorOptions()
    {
        var options = FastRetries();
        options.AllowMultipleSubscriptions = true;
        return options;
    }

    protected override Task<KavachTestApp> StartAppAsync() => KavachTestApp.StartAsync(
        Db.ConnectionString,
        new()
        {
            PolarApi = Polar.BaseUrl,
            Configure = o => o.OnBenefitChange = (change, _) =>
            {
                _changes.Enqueue(change);
                return Task.CompletedTask;
            },
            Settings = new Dictionary<string, string?>
            {
                ["KavachPolar:AccessToken"] = Polar.AccessToken,
                ["KavachPolar:AllowMultipleSubscriptions"] = "true",
            },
        });

    [Fact]
    public async Task A_change_fires_when_a_hold_begins_or_ends_and_not_for_a_second_grant_or_the_revoke_of_one_of_two()
    {
        using var client = App.ClientFor("holder", "holder.person@gmail.com");
        var pro = await SubscribeAsync(Polar, client, Pro, Ct);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        await Wait.UntilAsync(() => Task.FromResult(_changes.Count >= 3), because: "the three benefits of Pro begin to be held");
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], _changes.Select(c => c.BenefitId).Order(StringComparer.Ordinal));
        Assert.All(_changes, c =>
        {
            Assert.Equal("holder", c.UserId);
            Assert.Null(c.Previous);
            Assert.Equal(c.BenefitId, c.Current!.BenefitId);
            Assert.Equal(pro.SubscriptionId, Assert.Single(c.Current.Grants).SubscriptionId);
        });
        var license = _changes.Single(c => c.BenefitId == LicenseKey);
        Assert.StartsWith("****", license.Current!.Grants[0].Properties.GetProperty("display_key").GetString());
        Assert.Equal("benefit_grant.created", license.EventType);

        // Team adds Priority support (its Discord and GitHub grants fail: no hold) and second grants of the other three.
        var team = await SubscribeAsync(Polar, client, Team, Ct);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(4, _changes.Count);
        Assert.Equal(PrioritySupport, _changes.Last().BenefitId);

        // Revoking Pro revokes three grants whose benefits Team's grants still hold: no change.
        await Polar.RevokeSubscriptionAsync(pro.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(4, _changes.Count);

        await Polar.RevokeSubscriptionAsync(team.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        await Wait.UntilAsync(() => Task.FromResult(_changes.Count >= 8), because: "the four held benefits end");
        var ended = _changes.Skip(4).ToList();
        Assert.Equal([Downloads, BetaFeatures, LicenseKey, PrioritySupport], ended.Select(c => c.BenefitId).Order(StringComparer.Ordinal));
        Assert.All(ended, c =>
        {
            Assert.Null(c.Current);
            Assert.Equal(team.SubscriptionId, Assert.Single(c.Previous!.Grants).SubscriptionId);
            Assert.Equal("benefit_grant.revoked", c.EventType);
        });
        Assert.Equal(8, _changes.Count);
    }
}
