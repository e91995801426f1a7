using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary><c>GET /v1/products/</c> and <c>GET /v1/products/{id}</c>.</summary>
internal static class ProductEndpoints
{
    public static ApiResult List(EmulatorStore store, ApiRequest request)
    {
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(request.Query, errors);
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return store.Read(s =>
        {
            var items = Pagination.Items(s.Products, page, limit, s.Models.Product);
            return new ApiResult(200, Pagination.Page(items, s.Products.Count, limit));
        });
    }

    public static ApiResult Get(EmulatorStore store, ApiRequest request)
    {
        var id = Pagination.PathUuid(request, "id");
        return store.Read(s => s.FindProduct(id) is { } p ? new ApiResult(200, s.Models.Product(p)) : throw PolarApiException.NotFound());
    }
}
