using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

internal sealed class KavachDbContextAccessor<TContext>(TContext context) : IKavachDbContextAccessor
    where TContext : DbContext
{
    public DbContext Context => context;
}
