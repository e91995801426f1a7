using KavachPolar.Storage;

namespace KavachPolar.Tests.Storage;

/// <summary>Text on its way to a PostgreSQL column: what the column and Npgsql's encoder accept.</summary>
public sealed class TextSafetyTests
{
    [Fact]
    public void What_PostgreSQL_text_cannot_hold_becomes_the_replacement_character()
    {
        // Built in code: attribute arguments are stored as UTF-8 and cannot carry half of a character.
        (string Input, string Expected)[] cases =
        [
            ("plain", "plain"),
            ("a\0b", "a\uFFFDb"),
            ("smile \U0001F600 kept", "smile \U0001F600 kept"),
            ("lone high " + '\uD83D' + " end", "lone high \uFFFD end"),
            ("lone low " + '\uDE00' + " end", "lone low \uFFFD end"),
            (new string(['\uDE00', '\uD83D']), "\uFFFD\uFFFD"),
            ("ends high " + '\uD83D', "ends high \uFFFD"),
        ];
        var strict = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true);
        foreach (var (input, expected) in cases)
        {
            var safe = TextSafety.ForTextColumn(input);
            Assert.Equal(expected, safe);
            Assert.Equal(safe, strict.GetString(strict.GetBytes(safe)));
        }
    }

    [Theory]
    [InlineData(5, "abcd\U0001F600e", "abcd")]
    [InlineData(6, "abcd\U0001F600e", "abcd\U0001F600")]
    [InlineData(3, "abcdef", "abc")]
    [InlineData(10, "abc", "abc")]
    public void A_cut_to_the_column_never_leaves_half_a_character(int max, string input, string expected)
    {
        Assert.Equal(expected, TextSafety.ForTextColumn(input, max));
    }
}
