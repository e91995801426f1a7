using System.Collections.Concurrent;
using System.Text.Json;
using KavachPolar.Billing;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// Reads a user's meter for <see cref="IKavachPolarUsage.GetMeterAsync"/>: Polar's customer meter (cached per
/// instance for <see cref="Usage.UsageSendSettings.MeterCacheFor"/>, 5 s), the meter's definition (cached longer, to evaluate pending events here), and
/// the user's events Polar's figures do not include yet (read from the database on every call).
/// </summary>
internal sealed class MeterReader(
    IServiceScopeFactory scopes,
    BillingStore billing,
    IOptionsMonitor<KavachPolarOptions> options,
    TimeProvider time,
    Usage.UsageSendSettings settings,
    ILogger<MeterReader> logger)
{
    private static readonly TimeSpan DefinitionCacheFor = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<(string User, string Meter), (long At, PolarSide? Value)> _meters = new();
    private readonly ConcurrentDictionary<string, (long At, LocalMeter? Meter)> _definitions = new(StringComparer.Ordinal);

    /// <summary>Polar's side of a meter: its figures, or zeros for a known customer with no row yet.</summary>
    private sealed record PolarSide(decimal Consumed, decimal Credited, decimal Balance, DateTimeOffset? AsOf);

    /// <summary>The meter id for <paramref name="meter"/>: a Polar meter id, or a <see cref="KavachPolarOptions.Meters"/> slug.</summary>
    public string ResolveMeterId(string meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        if (Guid.TryParseExact(meter, "D", out var id))
        {
            return id.ToString("D");
        }

        if (options.CurrentValue.Meters.TryGetValue(meter, out var configured))
        {
            return configured.ToLowerInvariant();
        }

        throw new ArgumentException($"'{meter}' is neither a Polar meter id nor a slug of KavachPolar:Meters.", nameof(meter));
    }

    public async Task<KavachMeter?> ReadAsync(string userId, string meterId, CancellationToken ct)
    {
        var side = await PolarSideAsync(userId, meterId, ct).ConfigureAwait(false);
        if (side is null)
        {
            return null;
        }

        var local = await DefinitionAsync(userId, meterId, ct).ConfigureAwait(false);
        var asOfUs = side.AsOf is { } asOf ? UnixTime.Microseconds(asOf) : (long?)null;
        var pending = await billing.PendingUsageAsync(userId, asOfUs, ct).ConfigureAwait(false);
        int pendingEvents;
        decimal? pendingUnits = null;
        if (local is null)
        {
            pendingEvents = pending.Count;
        }
        else
        {
            var matching = new List<JsonElement>();
            foreach (var e in pending)
            {
                using var doc = JsonDocument.Parse(e.Metadata);
                if (local.Matches(e.Name, doc.RootElement))
                {
                    matching.Add(doc.RootElement.Clone());
                }
            }

            pendingEvents = matching.Count;
            pendingUnits = local.Aggregate(matching);
        }

        return new KavachMeter
        {
            MeterId = meterId,
            ConsumedUnits = side.Consumed,
            CreditedUnits = side.Credited,
            Balance = side.Balance,
            AsOf = side.AsOf,
            PendingEvents = pendingEvents,
            PendingUnits = pendingUnits,
        };
    }

    private async Task<PolarSide?> PolarSideAsync(string userId, string meterId, CancellationToken ct)
    {
        var key = (userId, meterId);
        if (_meters.TryGetValue(key, out var cached) && time.GetElapsedTime(cached.At) < settings.MeterCacheFor)
        {
            return cached.Value;
        }

        await using var scope = scopes.CreateAsyncScope();
        var polar = scope.ServiceProvider.GetRequiredService<PolarApiClient>();
        using var caller = PolarCaller.For(userId);
        var list = await polar.ListCustomerMetersAsync(userId, meterId, ct).ConfigureAwait(false);
        Fail(list.Error, userId, meterId);
        PolarSide? side;
        if (list.Value!.Items.FirstOrDefault(r => r.MeterId == meterId) is { } row)
        {
            side = new PolarSide(row.ConsumedUnits, row.CreditedUnits, row.Balance, row.ModifiedAt ?? row.CreatedAt);
        }
        else
        {
            // No row: zero for a known customer (Polar creates rows at its first recompute), null for none.
            var known = (await billing.FindUserAsync(userId, ct).ConfigureAwait(false))?.PolarCustomerId is not null;
            if (!known)
            {
                var customer = await polar.FindCustomerByExternalIdAsync(userId, ct).ConfigureAwait(false);
                Fail(customer.Error, userId, meterId);
                known = customer.Value is not null;
            }

            side = known ? new PolarSide(0, 0, 0, null) : null;
        }

        _meters[key] = (time.GetTimestamp(), side);
        return side;
    }

    private async Task<LocalMeter?> DefinitionAsync(string userId, string meterId, CancellationToken ct)
    {
        if (_definitions.TryGetValue(meterId, out var cached) && time.GetElapsedTime(cached.At) < DefinitionCacheFor)
        {
            return cached.Meter;
        }

        await using var scope = scopes.CreateAsyncScope();
        var polar = scope.ServiceProvider.GetRequiredService<PolarApiClient>();
        using var caller = PolarCaller.For(userId);
        var meter = await polar.GetMeterAsync(meterId, ct).ConfigureAwait(false);
        if (!meter.IsSuccess)
        {
            // Without the definition, pending events are counted, not evaluated; asked again at the next read.
            Log.MeterReadFailed(logger, meterId, userId, ResultCodes.For(meter.Error!));
            return null;
        }

        var local = LocalMeter.TryCompile(meter.Value!.Filter, meter.Value.Aggregation);
        _definitions[meterId] = (time.GetTimestamp(), local);
        return local;
    }

    private void Fail(PolarApiError? error, string userId, string meterId)
    {
        if (error is null)
        {
            return;
        }

        var code = ResultCodes.For(error);
        Log.MeterReadFailed(logger, meterId, userId, code);
        throw new KavachPolarException(code, $"Polar could not be asked for meter {meterId} of user {userId} ({code}).", error.RetryAfter);
    }
}
