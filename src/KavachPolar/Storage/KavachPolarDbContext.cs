using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary>
/// KavachPolar's own DbContext over <c>kavach_users</c> and its bookkeeping tables, for hosts that
/// start fresh. Hosts that keep users in their own DbContext call
/// <see cref="KavachPolarModelBuilderExtensions.ApplyKavachPolarModel"/> instead.
/// </summary>
public class KavachPolarDbContext : DbContext
{
    /// <summary>Creates the context.</summary>
    public KavachPolarDbContext(DbContextOptions<KavachPolarDbContext> options)
        : base(options)
    {
    }

    /// <summary>For subclasses that add their own entities.</summary>
    protected KavachPolarDbContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>The <c>kavach_users</c> table.</summary>
    public DbSet<KavachUser> KavachUsers => Set<KavachUser>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.ApplyKavachPolarModel();
    }
}
