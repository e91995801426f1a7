using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>
/// Validates JSON against the schemas of <c>TestData/openapi-subset.json</c> (OpenAPI 3.1, so JSON Schema 2020-12):
/// the whole document is registered under a base URI and components are reached by <c>$ref</c>.
/// OpenAPI's own keywords (<c>discriminator</c>, <c>x-*</c>) are allowed as unknown keywords; formats are checked,
/// including pydantic's <c>uuid4</c>.
/// </summary>
public sealed class OpenApiSchemas
{
    private static readonly Uri BaseUri = new("https://kavachpolar.test/openapi-subset.json");
    private static readonly Lazy<OpenApiSchemas> Lazy = new(() => new OpenApiSchemas());

    private readonly JsonDocument _document;
    private readonly BuildOptions _build;
    private readonly EvaluationOptions _fast;
    private readonly EvaluationOptions _evaluation;
    private readonly ConcurrentDictionary<string, JsonSchema> _schemas = new(StringComparer.Ordinal);

    private OpenApiSchemas()
    {
        _document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "openapi-subset.json")));
        var registry = new SchemaRegistry();
        registry.Register(BaseUri, new JsonElementBaseDocument(_document.RootElement, BaseUri));
        _build = new BuildOptions
        {
            SchemaRegistry = registry,
            Dialect = Dialect.Draft202012.With([], allowUnknownKeywords: true),
        };
        var formats = new FormatRegistry();
        formats.Register(new PredicateFormat("uuid4", e => e.ValueKind != JsonValueKind.String || (Guid.TryParse(e.GetString(), out var g) && g.Version == 4 && e.GetString() == g.ToString("D"))));
        formats.Register(new PredicateFormat("ipvanyaddress", e => e.ValueKind != JsonValueKind.String || System.Net.IPAddress.TryParse(e.GetString(), out _)));
        _fast = new EvaluationOptions { OutputFormat = OutputFormat.Flag, RequireFormatValidation = true, FormatRegistry = formats };
        _evaluation = new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true, FormatRegistry = formats };
    }

    public static OpenApiSchemas Instance => Lazy.Value;

    /// <summary>The component schema a webhook type's payload must match, e.g. <c>WebhookSubscriptionCreatedPayload</c>.</summary>
    public string WebhookComponent(string type) => ComponentName(_document.RootElement.GetProperty("webhooks").GetProperty(type).GetProperty("post")
        .GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));

    /// <summary>The component schema of an operation's response.</summary>
    public string ResponseComponent(string path, string method, int status) => ComponentName(_document.RootElement.GetProperty("paths").GetProperty(path)
        .GetProperty(method.ToLowerInvariant()).GetProperty("responses").GetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .GetProperty("content").GetProperty("application/json").GetProperty("schema"));

    /// <summary>Validates <paramref name="json"/> against a component; returns the error messages (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string component, string json)
    {
        var schema = _schemas.GetOrAdd(component, c => JsonSchema.FromText(
            $$"""{"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"{{BaseUri}}#/components/schemas/{{c}}"}""", _build));
        using var instance = JsonDocument.Parse(json);
        if (schema.Evaluate(instance.RootElement, _fast).IsValid)
        {
            return [];
        }

        var result = schema.Evaluate(instance.RootElement, _evaluation);

        var errors = new List<string>();
        Collect(result, errors);
        return errors.Count > 0 ? errors : ["invalid (no detail)"];
    }

    /// <summary>Asserts that <paramref name="json"/> matches <paramref name="component"/>, listing the errors otherwise.</summary>
    public void AssertValid(string component, string json, string what)
    {
        var errors = Validate(component, json);
        Assert.True(errors.Count == 0, $"{what} does not match {component}:\n{string.Join("\n", errors.Take(20))}\n{json[..Math.Min(json.Length, 2000)]}");
    }

    private static void Collect(EvaluationResults result, List<string> errors)
    {
        if (result.Errors is { } own)
        {
            errors.AddRange(own.Select(e => $"{result.InstanceLocation} ({result.EvaluationPath}): {e.Key}: {e.Value}"));
        }

        foreach (var detail in result.Details ?? [])
        {
            Collect(detail, errors);
        }
    }

    private static string ComponentName(JsonElement schema)
    {
        var reference = schema.GetProperty("$ref").GetString()!;
        return reference["#/components/schemas/".Length..];
    }
}
