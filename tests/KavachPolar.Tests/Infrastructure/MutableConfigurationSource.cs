using Microsoft.Extensions.Configuration;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>A configuration source a test can change at run time, raising the reload token as a file source would.</summary>
public sealed class MutableConfigurationSource : IConfigurationSource
{
    public Provider Instance { get; } = new();

    public IConfigurationProvider Build(IConfigurationBuilder builder) => Instance;

    public sealed class Provider : ConfigurationProvider
    {
        public void Change(Action<IDictionary<string, string?>> change)
        {
            change(Data);
            OnReload();
        }
    }
}
