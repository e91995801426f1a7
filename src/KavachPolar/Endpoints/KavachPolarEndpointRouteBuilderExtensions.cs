using KavachPolar.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Routing;

/// <summary>Maps KavachPolar's HTTP routes.</summary>
public static class KavachPolarEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps, under <c>{basePath}/auth/polar</c>: <c>POST checkout</c>, <c>GET subscription</c>, <c>GET benefits</c>,
    /// <c>GET orders</c>, <c>POST orders/{id}/invoice</c>,
    /// <c>POST reconcile</c>, <c>POST subscription/change</c>, <c>POST subscription/cancel</c>,
    /// <c>POST subscription/resume</c> and <c>POST portal</c> for the signed-in user, and <c>POST webhook</c> for
    /// Polar (anonymous, signature-checked).
    /// </summary>
    /// <param name="endpoints">The app or a route group.</param>
    /// <param name="basePath">The prefix, default <c>/api/kavach</c>.</param>
    /// <returns>The route group, to add conventions to the routes.</returns>
    /// <remarks>Call once per base path. The webhook route opts out of authorization, anti-forgery, request-timeout and rate-limiting policies: refusing Polar's deliveries gets the endpoint disabled.</remarks>
    public static RouteGroupBuilder MapKavachPolar(this IEndpointRouteBuilder endpoints, string basePath = "/api/kavach")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(basePath);
        if (endpoints.ServiceProvider.GetService<PublicOriginWarning>() is { } warning)
        {
            warning.RoutesMapped = true;
        }

        var group = endpoints.MapGroup(basePath.TrimEnd('/') + "/auth/polar");
        group.WithTags("KavachPolar");

        group.MapPost("/checkout", CheckoutEndpoint.HandleAsync)
            .WithName("KavachPolarCheckout")
            .AddEndpointFilter(CheckoutEndpoint.CountAsync)
            .ForUser("checkout", "POST checkout");
        group.MapGet("/subscription", SubscriptionEndpoint.HandleAsync)
            .WithName("KavachPolarSubscription")
            .ForUser(operation: null, "GET subscription");
        group.MapGet("/benefits", BenefitsEndpoint.HandleAsync)
            .WithName("KavachPolarBenefits")
            .ForUser(operation: null, "GET benefits");
        group.MapGet("/orders", OrdersEndpoint.ListAsync)
            .WithName("KavachPolarOrders")
            .ForUser(operation: null, "GET orders");
        group.MapPost("/orders/{id}/invoice", OrdersEndpoint.InvoiceAsync)
            .WithName("KavachPolarInvoice")
            .ForUser("invoice", "POST orders/{id}/invoice");
        // (Delegate): a handler whose only parameter is HttpContext also converts to RequestDelegate, and that overload
        // never writes the result the handler returns (dotnet/aspnetcore#39956, still open as #45373). The cast sends
        // these through RequestDelegateFactory like the others.
        group.MapPost("/reconcile", (Delegate)ReconcileEndpoint.HandleAsync)
            .WithName("KavachPolarReconcile")
            .ForUser(UserRateLimiter.Reconcile, "POST reconcile");
        group.MapPost("/subscription/change", (Delegate)ManagementEndpoints.ChangeAsync)
            .WithName("KavachPolarChangePlan")
            .ForUser("change", "POST subscription/change");
        group.MapPost("/subscription/cancel", (Delegate)ManagementEndpoints.CancelAsync)
            .WithName("KavachPolarCancel")
            .ForUser("cancel", "POST subscription/cancel");
        group.MapPost("/subscription/resume", (Delegate)ManagementEndpoints.ResumeAsync)
            .WithName("KavachPolarResume")
            .ForUser("resume", "POST subscription/resume");
        group.MapPost("/portal", ManagementEndpoints.PortalAsync)
            .WithName("KavachPolarPortal")
            .ForUser("portal", "POST portal");
        group.MapPost("/webhook", WebhookEndpoint.HandleAsync)
            .WithName("KavachPolarWebhook")
            .AllowAnonymous()
            .DisableAntiforgery()
            .DisableRequestTimeout()
            .DisableRateLimiting();

        return group;
    }

    /// <summary>
    /// A route for the signed-in user: <see cref="UserRequestGuard"/> first (with an <paramref name="operation"/>, the
    /// route changes state: also the cross-site check and the operation's rate limit), then <see cref="StoreFailureFilter"/>,
    /// which logs store failures with the route's <paramref name="name"/>.
    /// The routes read their own small JSON bodies, so there is no form to protect with anti-forgery tokens.
    /// </summary>
    private static RouteHandlerBuilder ForUser(this RouteHandlerBuilder route, string? operation, string name) =>
        route
            .AddEndpointFilter(new UserRequestGuard(operation))
            .AddEndpointFilter(new StoreFailureFilter(name))
            .DisableAntiforgery();
}
