using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace KavachPolar.Tests;

public sealed partial class ErrorCodeStatusTests
{
    public static TheoryData<string> Codes() => new(typeof(KavachPolarErrorCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => f.Name));

    [Theory]
    [MemberData(nameof(Codes))]
    public void Every_error_code_has_the_status_its_documentation_names(string name)
    {
        var code = (string)typeof(KavachPolarErrorCodes).GetField(name)!.GetRawConstantValue()!;
        var docs = XDocument.Load(Path.ChangeExtension(typeof(KavachPolarErrorCodes).Assembly.Location, ".xml"));
        var summary = docs.Descendants("member").Single(m => (string?)m.Attribute("name") == "F:KavachPolar.KavachPolarErrorCodes." + name).Element("summary")!.Value;
        var documented = int.Parse(StatusInDocs().Match(summary).Value, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(documented, KavachPolarErrorStatuses.For(code));
    }

    [Fact]
    public void An_unknown_code_is_a_bug()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KavachPolarErrorStatuses.For("no_such_code"));
    }

    [GeneratedRegex(@"\b[45]\d\d\b")]
    private static partial Regex StatusInDocs();
}
