using KavachPolar.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Microsoft.AspNetCore.Routing;

/// <summary>Maps KavachPolar's HTTP routes.</summary>
public static class KavachPolarEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps, under <c>{basePath}/auth/polar</c>: <c>POST checkout</c>, <c>GET subscription</c>,
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
        var group = endpoints.MapGroup(basePath.TrimEnd('/') + "/auth/polar");
        group.WithTags("KavachPolar");

        group.MapPost("/checkout", CheckoutEndpoint.HandleAsync)
            .WithName("KavachPolarCheckout")
            .DisableAntiforgery();
        group.MapGet("/subscription", SubscriptionEndpoint.HandleAsync)
            .WithName("KavachPolarSubscription");
        group.MapPost("/reconcile", ReconcileEndpoint.HandleAsync)
            .WithName("KavachPolarReconcile")
            .DisableAntiforgery();
        group.MapPost("/subscription/change", ManagementEndpoints.ChangeAsync)
            .WithName("KavachPolarChangePlan")
            .DisableAntiforgery();
        group.MapPost("/subscription/cancel", ManagementEndpoints.CancelAsync)
            .WithName("KavachPolarCancel")
            .DisableAntiforgery();
        group.MapPost("/subscription/resume", ManagementEndpoints.ResumeAsync)
            .WithName("KavachPolarResume")
            .DisableAntiforgery();
        group.MapPost("/portal", ManagementEndpoints.PortalAsync)
            .WithName("KavachPolarPortal")
            .DisableAntiforgery();
        group.MapPost("/webhook", WebhookEndpoint.HandleAsync)
            .WithName("KavachPolarWebhook")
            .AllowAnonymous()
            .DisableAntiforgery()
            .DisableRequestTimeout()
            .DisableRateLimiting();

        return group;
    }
}
