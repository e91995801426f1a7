using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary>
/// Resolves the DbContext that holds KavachPolar's tables in the current scope:
/// <see cref="KavachPolarDbContext"/> by default, or the host's own context after
/// <c>AddEntityFrameworkStore&lt;TContext&gt;()</c>.
/// </summary>
internal interface IKavachDbContextAccessor
{
    DbContext Context { get; }
}
