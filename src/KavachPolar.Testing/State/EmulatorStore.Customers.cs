using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    private static readonly TimeSpan CustomerSessionTtl = TimeSpan.FromHours(1);

    /// <summary><c>POST /v1/customers/</c> after request validation: uniqueness of email and external id.</summary>
    public JsonObject CreateCustomer(string email, string? name, string? externalId, JsonObject metadata, string? locale)
    {
        lock (_lock)
        {
            var errors = new ValidationErrors();
            if (CustomerByEmail(email) is not null)
            {
                errors.Add("value_error", ValidationErrors.Loc("body", "email"), "A customer with this email address already exists.", JsonValue.Create(email));
            }

            if (externalId is not null && CustomerByExternalId(externalId) is not null)
            {
                errors.Add("value_error", ValidationErrors.Loc("body", "external_id"), "A customer with this external ID already exists.", JsonValue.Create(externalId));
            }

            if (errors.Count > 0)
            {
                throw PolarApiException.Validation("PolarRequestValidationError", errors);
            }

            var c = new CustomerRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = Now,
                Email = email,
                Name = name,
                ExternalId = externalId,
                Metadata = metadata,
                Locale = locale,
            };
            _customers.Add(c.Id, c);
            CreateOwnerMember(c);
            var json = Models.Customer(c);
            Emit("customer.created", (JsonObject)json.DeepClone());
            EmitStateChanged(c);
            return json;
        }
    }

    public (JsonArray Items, int Total) ListCustomers(string? email, string? query, int page, int limit)
    {
        lock (_lock)
        {
            var rows = _customers.Values
                .Where(c => c.DeletedAt is null)
                .Where(c => email is null || string.Equals(c.Email, email, StringComparison.OrdinalIgnoreCase))
                .Where(c => query is null || c.Email.Contains(query, StringComparison.OrdinalIgnoreCase) || (c.Name?.Contains(query, StringComparison.OrdinalIgnoreCase) ?? false) || (c.ExternalId?.StartsWith(query, StringComparison.Ordinal) ?? false))
                .OrderByDescending(c => c.CreatedAt)
                .ToList();
            return (Pagination.Items(rows, page, limit, Models.Customer), rows.Count);
        }
    }

    /// <summary>Looks a customer up by id (<paramref name="external"/> false) or external id.</summary>
    public JsonObject GetCustomer(string key, bool external, bool state)
    {
        lock (_lock)
        {
            var c = external ? CustomerByExternalId(key) : LiveCustomer(key);
            if (c is null)
            {
                throw PolarApiException.NotFound();
            }

            return state ? Models.CustomerState(c) : Models.Customer(c);
        }
    }

    /// <summary>
    /// <c>DELETE /v1/customers/{id}</c>: a soft delete, as Polar's customer service does. The external id moves
    /// into the metadata (<c>__external_id</c>) and is freed, every billable subscription (<c>active</c>, <c>trialing</c>,
    /// <c>past_due</c>) is revoked with its webhooks (Polar's <c>cancel_customer</c> leaves a paused one alone), and the
    /// customer disappears from every look-up. See
    /// https://github.com/polarsource/polar/blob/main/server/polar/customer/service.py and <c>customer/repository.py</c>.
    /// </summary>
    public void DeleteCustomer(string id)
    {
        lock (_lock)
        {
            var c = LiveCustomer(id) ?? throw PolarApiException.NotFound();
            foreach (var s in SubscriptionsOf(c.Id).Where(s => s.IsBillable && s.EndedAt is null).OrderBy(s => s.CreatedAt).ToList())
            {
                RevokeNow(s, null, null);
            }

            if (c.ExternalId is not null)
            {
                c.Metadata["__external_id"] = c.ExternalId;
                c.ExternalId = null;
            }

            RevokeAllGrantsOf(c);
            c.DeletedAt = Now;
            c.ModifiedAt = Now;
            Emit("customer.deleted", Models.Customer(c));
        }
    }

    /// <summary><c>POST /v1/customer-sessions/</c>.</summary>
    public JsonObject CreateCustomerSession(string? customerId, string? externalCustomerId, string? returnUrl)
    {
        lock (_lock)
        {
            var c = customerId is not null ? LiveCustomer(customerId) : CustomerByExternalId(externalCustomerId!);
            if (c is null)
            {
                var loc = customerId is not null ? ValidationErrors.Loc("body", "customer_id") : ValidationErrors.Loc("body", "external_customer_id");
                throw PolarApiException.BusinessValidation(loc, "Customer does not exist.", JsonValue.Create(customerId ?? externalCustomerId));
            }

            var session = new CustomerSessionRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = Now,
                Token = Ids.NewToken("polar_cst_"),
                ExpiresAt = Now + CustomerSessionTtl,
                ReturnUrl = returnUrl,
                CustomerId = c.Id,
            };
            _sessions.Add(session);
            return Models.CustomerSession(session);
        }
    }

    /// <summary>
    /// Whether <paramref name="token"/> is a live customer session of a customer that is not deleted: Polar's
    /// authentication then sees a customer, not an invalid token.
    /// </summary>
    public bool IsLiveCustomerSession(string token)
    {
        lock (_lock)
        {
            return _sessions.Any(s => s.Token == token && s.ExpiresAt > Now && _customers[s.CustomerId].DeletedAt is null);
        }
    }

    /// <summary>The customer and subscriptions behind a live customer session token, for the portal page.</summary>
    public (CustomerRecord Customer, List<(SubscriptionRecord Subscription, string ProductName)> Subscriptions)? FindPortal(string token)
    {
        lock (_lock)
        {
            var session = _sessions.FirstOrDefault(s => s.Token == token && s.ExpiresAt > Now);
            if (session is null)
            {
                return null;
            }

            var c = _customers[session.CustomerId];
            return (c, SubscriptionsOf(c.Id).OrderByDescending(s => s.CreatedAt).Select(s => (s, Product(s.ProductId).Name)).ToList());
        }
    }
}
