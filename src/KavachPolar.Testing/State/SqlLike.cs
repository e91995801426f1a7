using System.Text;
using System.Text.RegularExpressions;

namespace KavachPolar.Testing.State;

/// <summary>PostgreSQL's <c>ILIKE</c>, for filters Polar writes as <c>column.ilike(f"%{query}%")</c>.</summary>
internal static class SqlLike
{
    /// <summary>
    /// The pattern <c>%query%</c>, case-insensitive: <c>%</c> in the query matches any run of characters, <c>_</c> any one
    /// character, and a backslash makes the next character literal (PostgreSQL's default escape), as Polar does not
    /// escape the query.
    /// </summary>
    public static Regex ContainsPattern(string query)
    {
        var pattern = new StringBuilder("^.*");
        for (var i = 0; i < query.Length; i++)
        {
            var c = query[i];
            if (c == '\\' && i + 1 < query.Length)
            {
                pattern.Append(Regex.Escape(query[++i].ToString()));
            }
            else
            {
                pattern.Append(c switch
                {
                    '%' => ".*",
                    '_' => ".",
                    _ => Regex.Escape(c.ToString()),
                });
            }
        }

        pattern.Append(".*$");
        return new Regex(pattern.ToString(), RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}
