namespace KavachPolar.Storage;

/// <summary>Column and input length limits, shared by the model and input validation.</summary>
internal static class Limits
{
    public const int UserId = 256;
    public const int PolarId = 64;
    public const int WebhookId = 256;
    public const int Email = 320;
    public const int Name = 256;
}
