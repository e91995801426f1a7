using System.Globalization;
using System.Net;
using System.Text;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Checkout;

/// <summary>
/// The HTML of the hosted checkout page: self-contained (inline CSS, no scripts or external assets), a plain
/// form POST so it works without JavaScript, and stable element ids for browser tests:
/// <c>#checkout</c>, <c>#product-name</c>, <c>#price</c>, <c>#email</c>, <c>#name</c>, <c>#card</c>, <c>#pay</c>,
/// <c>#error</c> and <c>#status</c>.
/// </summary>
internal static class CheckoutPage
{
    /// <summary>The <c>link</c> to the emulator's favicon, <c>/favicon.ico</c> (an SVG), for every hosted page's head.</summary>
    public const string IconLink = "<link rel=\"icon\" href=\"/favicon.ico\" type=\"image/svg+xml\">";

    /// <summary>A small SVG mark: what <c>/favicon.ico</c> answers.</summary>
    public const string Icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#0062ff"/><circle cx="16" cy="16" r="8" fill="none" stroke="#fff" stroke-width="3.5"/></svg>
        """;

    public const string Style = """
        *{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d1f24}
        main{max-width:920px;margin:48px auto;display:grid;grid-template-columns:1fr 1fr;background:#fff;border-radius:16px;box-shadow:0 8px 32px rgba(0,0,0,.08);overflow:hidden}
        @media(max-width:720px){main{grid-template-columns:1fr;margin:0;border-radius:0}}
        .summary{background:#0f1115;color:#f3f4f6;padding:40px}.summary h1{font-size:22px;margin:0 0 8px}.summary p{color:#a1a6b0;margin:0 0 24px}
        .price{font-size:36px;font-weight:700}.price small{font-size:15px;font-weight:400;color:#a1a6b0}.trial{margin-top:12px;color:#7dd3a8}
        form,.panel{padding:40px}label{display:block;font-size:13px;font-weight:600;margin:0 0 6px}
        input{width:100%;padding:11px 12px;border:1px solid #d5d8de;border-radius:8px;font-size:15px;margin-bottom:18px;background:#fff}
        input[readonly]{background:#f1f2f4;color:#5b606b}button{width:100%;padding:13px;border:0;border-radius:8px;background:#0062ff;color:#fff;font-size:16px;font-weight:600;cursor:pointer}
        button:hover{background:#0051d4}.error{background:#fdecec;color:#a61b1b;padding:10px 12px;border-radius:8px;margin-bottom:18px;font-size:14px}
        .badge{display:inline-block;font-size:11px;letter-spacing:.08em;text-transform:uppercase;background:#2a2f3a;color:#cbd0d8;padding:3px 8px;border-radius:99px;margin-bottom:20px}
        .note{font-size:12px;color:#8a8f99;margin-top:14px;text-align:center}a{color:#0062ff}
        input.invalid{border-color:#d93025;margin-bottom:6px}.field-error{color:#c0271d;font-size:13px;margin:0 0 18px}
        """;

    /// <summary>The page; <paramref name="card"/> and <paramref name="cardError"/> refill the card field after a refusal.</summary>
    public static string Render(CheckoutView view, string? error, string? email, string? name, string? card, string? cardError)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">").Append(IconLink);
        html.Append("<title>Checkout · ").Append(E(view.ProductName)).Append("</title><style>").Append(Style).Append("</style></head><body>");
        html.Append("<main id=\"checkout\" data-checkout-id=\"").Append(E(view.Id)).Append("\" data-status=\"").Append(E(view.Status)).Append("\">");
        html.Append("<section class=\"summary\"><span class=\"badge\">Polar emulator · test mode</span>");
        html.Append("<h1 id=\"product-name\">").Append(E(view.ProductName)).Append("</h1>");
        if (view.ProductDescription is not null)
        {
            html.Append("<p>").Append(E(view.ProductDescription)).Append("</p>");
        }

        html.Append("<div class=\"price\" id=\"price\">").Append(E(FormatPrice(view.PriceAmount, view.Currency)))
            .Append(view.RecurringInterval is null ? " <small>one-time</small></div>" : $" <small>/ {E(Interval(view.RecurringInterval, view.RecurringIntervalCount ?? 1))}</small></div>");
        if (view.TrialInterval is not null)
        {
            html.Append("<div class=\"trial\" id=\"trial\">").Append(E(Interval(view.TrialInterval, view.TrialIntervalCount ?? 1))).Append(" free trial</div>");
        }

        if (view.ReturnUrl is not null)
        {
            html.Append("<p style=\"margin-top:32px\"><a id=\"back\" href=\"").Append(E(view.ReturnUrl)).Append("\" style=\"color:#a1a6b0\">← Back</a></p>");
        }

        html.Append("</section>");
        if (view.Status != "open")
        {
            html.Append("<div class=\"panel\"><p id=\"status\">")
                .Append(view.Status == "succeeded" ? "This checkout is already paid." : $"This checkout is {E(view.Status)}.")
                .Append("</p>");
            if (view.Status == "succeeded")
            {
                html.Append("<p><a id=\"continue\" href=\"").Append(E(view.SuccessUrl)).Append("\">Continue</a></p>");
            }

            html.Append("</div>");
        }
        else
        {
            html.Append("<form id=\"checkout-form\" method=\"post\" action=\"\">");
            if (error is not null)
            {
                html.Append("<div class=\"error\" id=\"error\" role=\"alert\">").Append(E(error)).Append("</div>");
            }

            var shownEmail = view.EmailLocked ? view.CustomerEmail : email ?? view.CustomerEmail;
            html.Append("<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required value=\"")
                .Append(E(shownEmail ?? "")).Append('"').Append(view.EmailLocked ? " readonly" : "").Append('>');
            html.Append("<label for=\"name\">Cardholder name</label><input id=\"name\" name=\"name\" autocomplete=\"name\" value=\"")
                .Append(E(name ?? view.CustomerName ?? "")).Append("\">");
            html.Append("<label for=\"card\">Card</label><input id=\"card\" name=\"card\" inputmode=\"numeric\" autocomplete=\"cc-number\" value=\"")
                .Append(E(card ?? "4242 4242 4242 4242")).Append('"');
            if (cardError is not null)
            {
                html.Append(" aria-invalid=\"true\" aria-describedby=\"card-error\" class=\"invalid\">");
                html.Append("<p class=\"field-error\" id=\"card-error\" role=\"alert\">").Append(E(cardError)).Append("</p>");
            }
            else
            {
                html.Append('>');
            }

            html.Append("<button id=\"pay\" type=\"submit\">").Append(view.TrialInterval is null ? "Pay " + E(FormatPrice(view.PriceAmount, view.Currency)) : "Start trial").Append("</button>");
            html.Append("<p class=\"note\">No real payment is made: any card number works.</p></form>");
        }

        html.Append("</main></body></html>");
        return html.ToString();
    }

    /// <summary>
    /// What Stripe's card field says before submitting: an empty number is incomplete, one with anything but digits,
    /// spaces and dashes is invalid; null when the number may be submitted (the emulator charges any digits).
    /// </summary>
    public static string? CardError(string card)
    {
        var digits = card.Replace(" ", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        if (string.IsNullOrWhiteSpace(digits))
        {
            return "Your card number is incomplete.";
        }

        return digits.All(char.IsAsciiDigit) ? null : "Your card number is invalid.";
    }

    public static string RenderMessage(string title, string message, string? linkUrl = null, string? linkText = null)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">").Append(IconLink).Append("<title>").Append(E(title)).Append("</title><style>").Append(Style).Append("</style></head><body>");
        html.Append("<main style=\"grid-template-columns:1fr\"><div class=\"panel\"><h1 id=\"title\">").Append(E(title)).Append("</h1><p id=\"message\">").Append(E(message)).Append("</p>");
        if (linkUrl is not null)
        {
            html.Append("<p><a id=\"link\" href=\"").Append(E(linkUrl)).Append("\">").Append(E(linkText ?? linkUrl)).Append("</a></p>");
        }

        html.Append("</div></main></body></html>");
        return html.ToString();
    }

    public static string FormatPrice(long cents, string currency)
    {
        var symbol = currency.ToLowerInvariant() switch
        {
            "usd" => "$",
            "eur" => "€",
            "gbp" => "£",
            _ => currency.ToUpperInvariant() + " ",
        };
        return symbol + (cents / 100m).ToString("0.00", CultureInfo.InvariantCulture);
    }

    private static string Interval(string unit, int count) => count == 1 ? unit : $"{count} {unit}s";

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
