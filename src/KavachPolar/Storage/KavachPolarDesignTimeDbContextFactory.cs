using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace KavachPolar.Storage;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build <see cref="KavachPolarDbContext"/> for PostgreSQL when
/// the package's own migrations are regenerated. Never used at run time.
/// </summary>
internal sealed class KavachPolarDesignTimeDbContextFactory : IDesignTimeDbContextFactory<KavachPolarDbContext>
{
    public KavachPolarDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<KavachPolarDbContext>().UseNpgsql("Host=localhost;Database=kavach_design_time").Options);
}
