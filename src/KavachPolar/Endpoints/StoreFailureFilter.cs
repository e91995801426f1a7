using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Endpoints;

/// <summary>
/// The endpoint filter that answers a store failure (<see cref="StoreFailures"/>: the database down, hung past
/// <see cref="KavachPolarOptions.DatabaseTimeout"/> or refusing) with 503 and <c>Retry-After</c>, and logs it with
/// <paramref name="route"/>. Any other exception propagates (500).
/// </summary>
internal sealed class StoreFailureFilter(string route) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            return await next(invocation).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<StoreFailureFilter>(), e, route);
            return KavachProblems.StoreUnavailable(context);
        }
    }
}
