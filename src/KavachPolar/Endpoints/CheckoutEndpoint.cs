using System.Globalization;
using System.Net;
using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Services;
using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST {base}/auth/polar/checkout</c>: creates a Polar checkout for the signed-in user. The
/// server, never the client, decides which Polar customer pays: the user's bound customer, else
/// Polar's customer with <c>external_id</c> = user id (created when missing), and the user id goes
/// into the checkout metadata so the subscription can be linked whatever customer Polar ends up using.
/// </summary>
internal static class CheckoutEndpoint
{
    private const int MaxBodyBytes = 8 * 1024;

    public static async Task<Results<Ok<CheckoutResponse>, ProblemHttpResult>> HandleAsync(
        HttpContext context,
        IOptionsMonitor<KavachPolarOptions> optionsMonitor,
        CheckoutRateLimiter rateLimiter,
        SubscriptionSynchronizer synchronizer,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        var result = await CreateAsync(context, optionsMonitor, rateLimiter, synchronizer, time, loggers).ConfigureAwait(false);
        KavachPolarTelemetry.CountCheckout(result.Result is ProblemHttpResult problem ? problem.ProblemDetails.Extensions["code"] as string ?? "problem" : "created");
        return result;
    }

    private static async Task<Results<Ok<CheckoutResponse>, ProblemHttpResult>> CreateAsync(
        HttpContext context,
        IOptionsMonitor<KavachPolarOptions> optionsMonitor,
        CheckoutRateLimiter rateLimiter,
        SubscriptionSynchronizer synchronizer,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        var options = optionsMonitor.CurrentValue;
        var logger = loggers.CreateLogger(typeof(CheckoutEndpoint));
        var (user, refused) = UserRequestGuard.Check(context, options, rateLimiter, "checkout", logger);
        if (user is null)
        {
            return refused!;
        }

        var requestOrigin = SuccessUrls.OriginOf(context.Request);
        var (request, bodyProblem) = await ReadBodyAsync(context).ConfigureAwait(false);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var productId = ResolveProduct(request!.ProductId, options);
        if (productId is null)
        {
            return KavachProblems.Create(StatusCodes.Status400BadRequest, "unknown_product", "Unknown product.", "productId must be a Polar product id (a UUID) or, when products are configured, one of their slugs.");
        }

        string? successUrl = null;
        var wantedSuccessUrl = request.SuccessUrl ?? options.SuccessUrl;
        if (!string.IsNullOrEmpty(wantedSuccessUrl))
        {
            successUrl = SuccessUrls.Resolve(wantedSuccessUrl, requestOrigin, options.AllowedRedirectOrigins);
            if (successUrl is null)
            {
                return KavachProblems.Create(StatusCodes.Status400BadRequest, "success_url_not_allowed", "The success URL is not allowed.", "Use a path on this site or an absolute URL on an origin listed in KavachPolar:AllowedRedirectOrigins.");
            }
        }

        await using var store = KavachDbScope.Open(context.RequestServices.GetRequiredService<IServiceScopeFactory>());
        var db = store.Db;
        var api = context.RequestServices.GetRequiredService<PolarApiClient>();
        var ct = context.RequestAborted;

        KavachUser row;
        try
        {
            row = await EnsureUserAsync(db, user, time.GetUtcNow(), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Log.StoreUnavailable(logger, e, "POST checkout");
            return KavachProblems.StoreUnavailable(context);
        }

        var customerId = row.PolarCustomerId;
        for (var attempt = 0; ; attempt++)
        {
            if (customerId is null)
            {
                var (found, problem) = await FindOrCreateCustomerAsync(api, user, context, ct).ConfigureAwait(false);
                if (problem is not null)
                {
                    return problem;
                }

                if (found is not null)
                {
                    try
                    {
                        await StoreTransactions.RunAsync(
                            db,
                            token => synchronizer.BindCustomerToUserAsync(db, user.Id, found.Id, found.ExternalId == user.Id, "link:" + found.Id + ":" + Guid.NewGuid().ToString("N"), token),
                            ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        Log.StoreUnavailable(logger, e, "POST checkout");
                        return KavachProblems.StoreUnavailable(context);
                    }

                    customerId = found.Id;
                }
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [SubscriptionSynchronizer.UserIdMetadataKey] = user.Id };
            var create = new PolarCheckoutCreate(
                Products: [productId],
                CustomerId: customerId,
                ExternalCustomerId: customerId is null ? user.Id : null,
                CustomerEmail: customerId is null ? user.Email : null,
                CustomerName: customerId is null ? user.Name : null,
                CustomerIpAddress: PublicClientIp(context),
                SuccessUrl: successUrl,
                Metadata: metadata);
            var checkout = await api.CreateCheckoutAsync(create, ct).ConfigureAwait(false);
            if (checkout.IsSuccess)
            {
                return TypedResults.Ok(new CheckoutResponse(checkout.Value!.Url, checkout.Value.Id));
            }

            if (attempt == 0 && customerId is not null && customerId == row.PolarCustomerId && IsUnknownCustomer(checkout.Error!))
            {
                // The bound customer no longer exists in Polar (deleted in the dashboard): forget it
                // and find or create the user's customer again, once.
                try
                {
                    await UnbindCustomerAsync(db, user.Id, customerId, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    Log.StoreUnavailable(logger, e, "POST checkout");
                    return KavachProblems.StoreUnavailable(context);
                }

                customerId = null;
                continue;
            }

            return MapPolarError(context, checkout.Error!);
        }
    }

    private static bool IsUnknownCustomer(PolarApiError error) =>
        error.Kind == PolarErrorKind.Validation && error.FieldErrors.Any(f => f.Field == "customer_id");

    private static Task<int> UnbindCustomerAsync(DbContext db, string userId, string customerId, CancellationToken ct) =>
        StoreTransactions.RunAsync(
            db,
            async token =>
            {
                await StoreTransactions.LockAsync(db, SubscriptionSynchronizer.CustomerLockKey(customerId), token).ConfigureAwait(false);
                await StoreTransactions.LockAsync(db, SubscriptionSynchronizer.UserLockKey(userId), token).ConfigureAwait(false);
                return await db.Set<KavachUser>()
                    .Where(u => u.Id == userId && u.PolarCustomerId == customerId)
                    .ExecuteUpdateAsync(u => u.SetProperty(x => x.PolarCustomerId, (string?)null), token)
                    .ConfigureAwait(false);
            },
            ct);

    /// <summary>
    /// Looks up Polar's customer with <c>external_id</c> = user id, creating it when missing. When
    /// Polar refuses to create it (e.g. a customer with this email already exists without an external
    /// id), returns no customer: the checkout then carries <c>external_customer_id</c> and the metadata.
    /// </summary>
    private static async Task<(PolarCustomer? Customer, ProblemHttpResult? Problem)> FindOrCreateCustomerAsync(PolarApiClient api, RequestUser user, HttpContext context, CancellationToken ct)
    {
        var existing = await api.GetCustomerByExternalIdAsync(user.Id, ct).ConfigureAwait(false);
        if (!existing.IsSuccess)
        {
            return (null, MapPolarError(context, existing.Error!));
        }

        if (existing.Value is { DeletedAt: null } customer)
        {
            return (customer, null);
        }

        if (user.Email is null)
        {
            return (null, null);
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [SubscriptionSynchronizer.UserIdMetadataKey] = user.Id };
        var created = await api.CreateCustomerAsync(new PolarCustomerCreate(user.Email, user.Name, user.Id, metadata), ct).ConfigureAwait(false);
        if (created.IsSuccess)
        {
            return (created.Value, null);
        }

        return created.Error!.Kind is PolarErrorKind.Validation or PolarErrorKind.Conflict or PolarErrorKind.Rejected
            ? (null, null)
            : (null, MapPolarError(context, created.Error));
    }

    private static async Task<KavachUser> EnsureUserAsync(DbContext db, RequestUser user, DateTimeOffset now, CancellationToken ct)
    {
        return await StoreTransactions.RunAsync(
            db,
            async token =>
            {
                await StoreTransactions.LockAsync(db, SubscriptionSynchronizer.UserLockKey(user.Id), token).ConfigureAwait(false);
                var row = await db.Set<KavachUser>().FirstOrDefaultAsync(u => u.Id == user.Id, token).ConfigureAwait(false);
                if (row is null)
                {
                    row = new KavachUser { Id = user.Id, Email = user.Email, Name = user.Name, CreatedAt = now, UpdatedAt = now };
                    db.Add(row);
                }
                else if ((user.Email is not null && row.Email != user.Email) || (user.Name is not null && row.Name != user.Name))
                {
                    row.Email = user.Email ?? row.Email;
                    row.Name = user.Name ?? row.Name;
                    row.UpdatedAt = now;
                }

                await db.SaveChangesAsync(token).ConfigureAwait(false);
                return row;
            },
            ct).ConfigureAwait(false);
    }

    private const string ExpectedShape = "{\"productId\": \"...\", \"successUrl\"?: \"...\"}";

    private static async Task<(CheckoutRequest? Request, ProblemHttpResult? Problem)> ReadBodyAsync(HttpContext context)
    {
        var (request, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.CheckoutRequest, MaxBodyBytes, ExpectedShape).ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem);
        }

        return request is null || string.IsNullOrWhiteSpace(request.ProductId) ? (null, JsonBody.Invalid(ExpectedShape)) : (request, null);
    }

    private static string? ResolveProduct(string? wanted, KavachPolarOptions options)
    {
        if (string.IsNullOrWhiteSpace(wanted))
        {
            return null;
        }

        if (options.Products.Count > 0)
        {
            if (options.Products.TryGetValue(wanted, out var bySlug))
            {
                return bySlug.ToLowerInvariant();
            }

            return options.Products.Values.FirstOrDefault(v => string.Equals(v, wanted, StringComparison.OrdinalIgnoreCase))?.ToLowerInvariant();
        }

        return Guid.TryParseExact(wanted, "D", out var id) ? id.ToString("D") : null;
    }

    private static string? PublicClientIp(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress;
        if (ip is null || IPAddress.IsLoopback(ip))
        {
            return null;
        }

        return (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
    }

    internal static ProblemHttpResult MapPolarError(HttpContext context, PolarApiError error)
    {
        var extensions = error.Kind == PolarErrorKind.Validation
            ? new Dictionary<string, object?> { ["errors"] = error.FieldErrors.Select(f => new Dictionary<string, string> { ["field"] = f.Field, ["message"] = f.Message }).ToList() }
            : null;
        return KavachProblems.FromCode(context, ResultCodes.For(error), error.RetryAfter, extensions);
    }
}
