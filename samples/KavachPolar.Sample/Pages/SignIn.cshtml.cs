using System.Net.Mail;
using KavachPolar.Sample.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace KavachPolar.Sample.Pages;

/// <summary>The development sign-in: an email and a name, no password.</summary>
public sealed class SignInModel : PageModel
{
    [BindProperty]
    public string? Email { get; set; }

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var email = Email?.Trim() ?? "";
        if (email.Length is 0 or > 320 || !MailAddress.TryCreate(email, out var address) || address.Address != email)
        {
            ModelState.AddModelError(nameof(Email), "Enter a valid email address.");
        }
        else if (IsReservedDomain(address.Host))
        {
            // Polar checks that the domain can receive mail and refuses these at checkout (422).
            ModelState.AddModelError(nameof(Email), $"Polar refuses addresses at {address.Host}: use a domain that can receive mail, e.g. your own.");
        }

        var name = string.IsNullOrWhiteSpace(Name) ? email.Split('@')[0] : Name.Trim();
        if (name.Length > 100)
        {
            ModelState.AddModelError(nameof(Name), "Keep the name under 100 characters.");
        }

        if (!ModelState.IsValid)
        {
            return Page();
        }

        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, SampleUsers.CreatePrincipal(email, name));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/pricing");
    }

    private static bool IsReservedDomain(string host)
    {
        var domain = host.ToLowerInvariant().TrimEnd('.');
        var tld = domain[(domain.LastIndexOf('.') + 1)..];
        return !domain.Contains('.', StringComparison.Ordinal)
            || tld is "test" or "example" or "invalid" or "local" or "localhost" or "arpa" or "onion"
            || domain is "example.com" or "example.net" or "example.org"
            || domain.EndsWith(".example.com", StringComparison.Ordinal)
            || domain.EndsWith(".example.net", StringComparison.Ordinal)
            || domain.EndsWith(".example.org", StringComparison.Ordinal);
    }
}
