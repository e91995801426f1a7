using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    private static readonly TimeSpan CheckoutTtl = TimeSpan.FromHours(24);

    public string CheckoutStatus(CheckoutRecord ch) =>
        ch.Status == "open" && Now >= ch.ExpiresAt ? "expired" : ch.Status;

    public string CheckoutUrl(CheckoutRecord ch) => $"{BaseUrl}checkout/{ch.ClientSecret}";

    /// <summary>
    /// The success URL with <c>{CHECKOUT_ID}</c> replaced, or Polar's default confirmation page.
    /// </summary>
    public string SuccessUrl(CheckoutRecord ch) =>
        ch.SuccessUrl is null
            ? $"{BaseUrl}checkout/{ch.ClientSecret}/confirmation"
            : ch.SuccessUrl.Replace("{CHECKOUT_ID}", ch.Id, StringComparison.Ordinal);

    /// <summary><c>POST /v1/checkouts/</c> after request validation: the service-level checks and creation.</summary>
    public JsonObject CreateCheckout(CheckoutCreateInput input)
    {
        lock (_lock)
        {
            var errors = new ValidationErrors();
            for (var i = 0; i < input.ProductIds.Count; i++)
            {
                if (FindProduct(input.ProductIds[i]) is null)
                {
                    errors.Add("value_error", ValidationErrors.Loc("body", "products", i), "Product does not exist.", JsonValue.Create(input.ProductIds[i]));
                }
            }

            CustomerRecord? customer = null;
            if (input.CustomerId is not null && (customer = LiveCustomer(input.CustomerId)) is null)
            {
                errors.Add("value_error", ValidationErrors.Loc("body", "customer_id"), "Customer does not exist.", JsonValue.Create(input.CustomerId));
            }

            if (errors.Count > 0)
            {
                throw PolarApiException.Validation("PolarRequestValidationError", errors);
            }

            // Linking precedence: customer_id, then an existing customer with the external id.
            if (customer is null && input.ExternalCustomerId is not null)
            {
                customer = CustomerByExternalId(input.ExternalCustomerId);
            }

            var now = Now;
            var successUrl = input.SuccessUrl?.Replace("%7BCHECKOUT_ID%7D", "{CHECKOUT_ID}", StringComparison.OrdinalIgnoreCase);
            var ch = new CheckoutRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = now,
                ClientSecret = Ids.NewToken("polar_c_"),
                ExpiresAt = now + CheckoutTtl,
                SuccessUrl = successUrl,
                ReturnUrl = input.ReturnUrl,
                EmbedOrigin = input.EmbedOrigin,
                ProductIds = input.ProductIds.Distinct().ToList(),
                ProductId = input.ProductIds[0],
                AllowTrial = input.AllowTrial,
                TrialInterval = input.TrialInterval,
                TrialIntervalCount = input.TrialIntervalCount,
                AllowDiscountCodes = input.AllowDiscountCodes,
                RequireBillingAddress = input.RequireBillingAddress,
                IsBusinessCustomer = input.IsBusinessCustomer,
                CustomerId = customer?.Id,
                CustomerName = input.CustomerName ?? customer?.Name,
                CustomerEmail = input.CustomerEmail ?? customer?.Email,
                CustomerIpAddress = input.CustomerIpAddress,
                CustomerBillingName = input.CustomerBillingName ?? customer?.BillingName,
                CustomerBillingAddress = (JsonObject?)customer?.BillingAddress?.DeepClone(),
                CustomerTaxId = input.CustomerTaxId,
                // The organization has not enabled checkout localization, so Polar hardcodes "en" whatever was asked
                // (checkout service create/update: checkout_localization_enabled).
                Locale = "en",
                Metadata = input.Metadata,
                CustomerMetadata = input.CustomerMetadata,
                CustomFieldData = input.CustomFieldData,
                ExternalCustomerId = input.ExternalCustomerId,
                EmailLocked = customer is not null,
            };
            _checkouts.Add(ch.Id, ch);
            var json = Models.Checkout(ch);
            Emit("checkout.created", (JsonObject)json.DeepClone());
            return json;
        }
    }

    public JsonObject GetCheckout(string id)
    {
        lock (_lock)
        {
            return Models.Checkout(RequireCheckout(id));
        }
    }

    private CheckoutRecord RequireCheckout(string id) =>
        _checkouts.TryGetValue(id, out var ch) ? ch : throw PolarApiException.NotFound();

    /// <summary>What the hosted page needs to render a checkout, or null when the client secret is unknown.</summary>
    public CheckoutView? FindCheckoutView(string clientSecret)
    {
        lock (_lock)
        {
            var ch = _checkouts.Values.FirstOrDefault(c => c.ClientSecret == clientSecret);
            if (ch is null)
            {
                return null;
            }

            var p = Product(ch.ProductId);
            var (trialInterval, trialCount) = Json.PolarModels.ActiveTrial(ch, p);
            return new CheckoutView(ch.Id, CheckoutStatus(ch), p.Name, p.Description, p.PriceAmount, p.Currency, p.RecurringInterval, p.RecurringIntervalCount,
                trialInterval, trialCount, ch.CustomerEmail, ch.CustomerName, ch.EmailLocked, ch.ReturnUrl, SuccessUrl(ch));
        }
    }

    /// <summary>
    /// The hosted page's Pay: confirms the checkout, links or creates the customer, creates the subscription and
    /// its first order, and emits the events in Polar's order.
    /// </summary>
    public EmulatorPaymentResult Pay(string checkoutId, string? email, string? name)
    {
        lock (_lock)
        {
            var ch = RequireCheckout(checkoutId);
            RequireOpen(ch);

            CustomerRecord? customer = ch.CustomerId is null ? null : _customers[ch.CustomerId];
            if (customer is { DeletedAt: not null })
            {
                throw PolarApiException.Polar(409, "CheckoutCustomerDeleted", "The customer associated with this checkout has been deleted.");
            }

            email = customer?.Email ?? (string.IsNullOrWhiteSpace(email) ? ch.CustomerEmail : email.Trim());
            name = string.IsNullOrWhiteSpace(name) ? ch.CustomerName ?? customer?.Name : name.Trim();
            if (email is null)
            {
                var missing = new ValidationErrors();
                missing.Add("missing", ValidationErrors.Loc("body", "customer_email"), "Field required", null);
                throw PolarApiException.Validation("PolarRequestValidationError", missing);
            }

            if (InputRules.EmailProblem(email) is { } reason)
            {
                var invalid = new ValidationErrors();
                invalid.Add("value_error", ValidationErrors.Loc("body", "customer_email"), "value is not a valid email address: " + reason, JsonValue.Create(email), new JsonObject { ["reason"] = reason });
                throw PolarApiException.Validation("RequestValidationError", invalid);
            }

            // Confirmation picks the customer as Polar's checkout service does: a checkout that has a customer keeps
            // it; otherwise the typed email is looked up first and that customer is reused as it is (its external id
            // unchanged, possibly another user's). Only when no customer has the email and the external id is taken
            // does Polar refuse with CheckoutCustomerExternalIdMismatch.
            var created = false;
            var metadataMerged = false;
            customer ??= CustomerByEmail(email);
            if (customer is null && ch.ExternalCustomerId is not null && CustomerByExternalId(ch.ExternalCustomerId) is not null)
            {
                throw PolarApiException.Polar(422, "CheckoutCustomerExternalIdMismatch", "A customer with this external ID already exists but with a different email address.");
            }

            var product = Product(ch.ProductId);
            RequireSubscriptionUniqueness(customer, product);

            var now = Now;
            var address = new JsonObject { ["line1"] = null, ["line2"] = null, ["postal_code"] = null, ["city"] = null, ["state"] = null, ["country"] = "US" };
            if (customer is null)
            {
                customer = new CustomerRecord
                {
                    Id = Ids.NewUuid(),
                    CreatedAt = now,
                    Email = email,
                    Name = name,
                    ExternalId = ch.ExternalCustomerId,
                    Metadata = (JsonObject)ch.CustomerMetadata.DeepClone(),
                    BillingAddress = address,
                    Locale = ch.Locale,
                    DefaultPaymentMethodId = Ids.NewUuid(),
                };
                _customers.Add(customer.Id, customer);
                CustomerCreated(customer);
                created = true;
            }
            else if (ch.CustomerMetadata.Count > 0)
            {
                foreach (var (k, v) in ch.CustomerMetadata)
                {
                    customer.Metadata[k] = v?.DeepClone();
                }

                customer.ModifiedAt = now;
                metadataMerged = true;
            }

            customer.Locale = ch.Locale ?? customer.Locale;
            // _create_or_update_customer: a page with the payment form requires the billing address (its country at
            // least: _get_required_confirm_fields), which becomes the customer's, and a customer without a name gets the
            // one typed on the page, if any. Both feed an invoice's billing details.
            if (product.PriceAmount > 0)
            {
                customer.BillingAddress = (JsonObject)(ch.CustomerBillingAddress ?? address).DeepClone();
            }

            customer.Name ??= name;
            ch.Status = "confirmed";
            ch.ModifiedAt = now;
            ch.CustomerId = customer.Id;
            ch.CustomerEmail = customer.Email;
            ch.CustomerName = name ?? customer.Name;
            ch.CustomerBillingAddress ??= (JsonObject)address.DeepClone();
            ch.PaymentMethodType = "card";
            ch.TaxAmount = 0;
            Emit("checkout.updated", Models.Checkout(ch));
            if (created)
            {
                CreateOwnerMember(customer);
                Emit("customer.created", Models.Customer(customer));
                EmitStateChanged(customer);
            }
            else if (metadataMerged)
            {
                Emit("customer.updated", Models.Customer(customer));
                EmitStateChanged(customer);
            }

            if (!product.IsRecurring)
            {
                // handle_success for a one-time product: the order, the checkout succeeded, then the order's grants.
                var purchase = CreatePurchaseOrder(ch, customer, product, now);
                ch.Status = "succeeded";
                ch.ModifiedAt = Now;
                Emit("checkout.updated", Models.Checkout(ch));
                GrantOrderBenefits(purchase);
                EmitStateChanged(customer);
                return new EmulatorPaymentResult(ch.Id, customer.Id, "", new Uri(SuccessUrl(ch))) { OrderId = purchase.Id };
            }

            var (trialInterval, trialCount) = Json.PolarModels.ActiveTrial(ch, product);
            var trialEnd = trialInterval is null ? (DateTimeOffset?)null : AddInterval(now, trialInterval, trialCount ?? 1);
            var subscription = new SubscriptionRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = now,
                Amount = product.PriceAmount,
                Currency = product.Currency,
                RecurringInterval = product.RecurringInterval!,
                RecurringIntervalCount = product.RecurringIntervalCount ?? 1,
                Status = trialEnd is null ? "active" : "trialing",
                CurrentPeriodStart = now,
                CurrentPeriodEnd = trialEnd ?? AddInterval(now, product.RecurringInterval!, product.RecurringIntervalCount ?? 1),
                TrialStart = trialEnd is null ? null : now,
                TrialEnd = trialEnd,
                StartedAt = now,
                CustomerId = customer.Id,
                ProductId = product.Id,
                CheckoutId = ch.Id,
                Metadata = (JsonObject)ch.Metadata.DeepClone(),
            };
            _subscriptions.Add(subscription.Id, subscription);
            EmitSubscription(subscription, "subscription.created", "subscription.active", "subscription.updated");

            // The first order is charged at checkout: it is created paid, then updated and paid are sent.
            var first = CreateOrder(subscription, "subscription_create", trialEnd is null ? product.PriceAmount : 0, ch.Id, "paid", now);
            MarkOrderPaid(first);

            ch.Status = "succeeded";
            ch.ModifiedAt = Now;
            Emit("checkout.updated", Models.Checkout(ch));
            SyncBenefitGrants(subscription);
            EmitStateChanged(customer);
            return new EmulatorPaymentResult(ch.Id, customer.Id, subscription.Id, new Uri(SuccessUrl(ch))) { OrderId = first.Id };
        }
    }

    /// <summary>
    /// <c>GET /v1/checkouts/</c>, newest first, with the filters of Polar's checkout service <c>list</c>: each given filter
    /// must match (a value nothing has matches nothing). <c>external_customer_id</c> matches the external id of the
    /// checkout's customer, <c>product_id</c> the selected product, and <c>query</c> is an <c>ILIKE '%query%'</c> on
    /// <c>customer_email</c> (https://github.com/polarsource/polar/blob/main/server/polar/checkout/service.py).
    /// </summary>
    public (JsonArray Items, int Total) ListCheckouts(CheckoutQuery q, int page, int limit)
    {
        lock (_lock)
        {
            var like = q.Query is null ? null : SqlLike.ContainsPattern(q.Query);
            var rows = _checkouts.Values
                .Where(c => q.OrganizationIds.Count == 0 || q.OrganizationIds.Contains(OrganizationId))
                .Where(c => q.CustomerIds.Count == 0 || (c.CustomerId is not null && q.CustomerIds.Contains(c.CustomerId)))
                .Where(c => q.ExternalCustomerIds.Count == 0 || (c.CustomerId is not null && _customers[c.CustomerId].ExternalId is { } e && q.ExternalCustomerIds.Contains(e)))
                .Where(c => q.ProductIds.Count == 0 || q.ProductIds.Contains(c.ProductId))
                .Where(c => q.Statuses.Count == 0 || q.Statuses.Contains(CheckoutStatus(c)))
                .Where(c => like is null || (c.CustomerEmail is not null && like.IsMatch(c.CustomerEmail)))
                .OrderByDescending(c => c.CreatedAt)
                .ToList();
            return (Pagination.Items(rows, page, limit, Models.Checkout), rows.Count);
        }
    }

    /// <summary>The product a (deprecated) <c>product_price_id</c> belongs to.</summary>
    public string? ProductIdOfPrice(string priceId)
    {
        lock (_lock)
        {
            return _products.FirstOrDefault(p => p.PriceId == priceId)?.Id;
        }
    }

    /// <summary>
    /// <c>PATCH /v1/checkouts/{id}</c>: applies validated changes to an open checkout and emits <c>checkout.updated</c>.
    /// </summary>
    /// <param name="id">The checkout id.</param>
    /// <param name="productId">The product to select, which must be one of the checkout's products.</param>
    /// <param name="email">The <c>customer_email</c> the update sets, if any (ignored when the email is locked).</param>
    /// <param name="apply">Sets the other changed fields; runs under the lock.</param>
    public JsonObject UpdateCheckout(string id, string? productId, string? email, Action<CheckoutRecord> apply)
    {
        lock (_lock)
        {
            var ch = RequireCheckout(id);
            RequireOpen(ch);
            if (productId is not null && !ch.ProductIds.Contains(productId))
            {
                throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "product_id"), "Product is not available in this checkout.", JsonValue.Create(productId));
            }

            // Polar validates subscription uniqueness on every update too, with the email the update would leave.
            var lockedEmail = ch.EmailLocked ? ch.CustomerEmail : null;
            var prospectiveEmail = lockedEmail ?? email ?? ch.CustomerEmail;
            RequireSubscriptionUniqueness(ch.CustomerId is { } customerId ? _customers[customerId] : prospectiveEmail is null ? null : CustomerByEmail(prospectiveEmail), Product(productId ?? ch.ProductId));
            apply(ch);
            ch.CustomerEmail = lockedEmail ?? ch.CustomerEmail;
            ch.Locale = "en";
            ch.ProductId = productId ?? ch.ProductId;
            ch.ModifiedAt = Now;
            var json = Models.Checkout(ch);
            Emit("checkout.updated", (JsonObject)json.DeepClone());
            return json;
        }
    }

    /// <summary>
    /// Polar's <c>_validate_subscription_uniqueness</c> (checkout service, run on update and on confirmation): unless the
    /// organization allows multiple subscriptions, a customer (the checkout's, or else the live customer with the
    /// checkout's email) who has a billable subscription (<c>active</c>, <c>trialing</c> or <c>past_due</c>, canceling or not)
    /// cannot pay for another one. A one-time product is no subscription: the rule returns early for it, so a subscriber
    /// can buy one. See https://github.com/polarsource/polar/blob/main/server/polar/checkout/service.py.
    /// </summary>
    private void RequireSubscriptionUniqueness(CustomerRecord? customer, ProductRecord product)
    {
        if (!AllowMultipleSubscriptions && product.IsRecurring && customer is not null && SubscriptionsOf(customer.Id).Any(x => x.IsBillable))
        {
            throw PolarApiException.Polar(403, "AlreadyActiveSubscriptionError", "You already have an active subscription.");
        }
    }

    /// <summary>Polar answers 403 <c>NotOpenCheckout</c> for any checkout that is not open, expired ones included.</summary>
    private void RequireOpen(CheckoutRecord ch)
    {
        var status = CheckoutStatus(ch);
        if (status != "open")
        {
            throw PolarApiException.Polar(403, "NotOpenCheckout", $"Checkout {ch.Id} is not open: {status}");
        }
    }
}
