using KavachPolar.Storage;

namespace Microsoft.EntityFrameworkCore.Migrations;

/// <summary>KavachPolar's database functions, for a host whose own DbContext holds KavachPolar's tables.</summary>
public static class KavachPolarMigrationBuilderExtensions
{
    /// <summary>
    /// Creates, or replaces with this version's, the PostgreSQL function that applies a webhook in one round trip
    /// (KavachPolar's own migrations install it; a DbContext that calls <c>ApplyKavachPolarModel()</c> needs it in one
    /// of its migrations, after the one that creates the tables). Without it every webhook takes the general path:
    /// correct, several round trips slower. Does nothing with other providers. It writes this version's function, so a
    /// migration that calls it installs whatever the KavachPolar it runs with ships, and KavachPolar calls only the
    /// function of its own version: after upgrading KavachPolar, add a migration that calls it again when the release
    /// notes say the function changed (log event 4007 says so too). The function finds KavachPolar's tables in the
    /// schema it is created in (its <c>search_path</c> is pinned there): a model that puts them in a schema of its own
    /// (<c>HasDefaultSchema</c>) takes the general path whatever this installs.
    /// </summary>
    /// <param name="migrationBuilder">The migration's builder.</param>
    /// <returns>The same builder.</returns>
    public static MigrationBuilder CreateKavachPolarFunctions(this MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        if (migrationBuilder.ActiveProvider == StoreProvider.Npgsql)
        {
            migrationBuilder.Sql(WebhookFunction.CreateSql);
        }

        return migrationBuilder;
    }

    /// <summary>Drops what <see cref="CreateKavachPolarFunctions"/> created (for a migration's <c>Down</c>).</summary>
    /// <param name="migrationBuilder">The migration's builder.</param>
    /// <returns>The same builder.</returns>
    public static MigrationBuilder DropKavachPolarFunctions(this MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        if (migrationBuilder.ActiveProvider == StoreProvider.Npgsql)
        {
            migrationBuilder.Sql(WebhookFunction.DropSql);
        }

        return migrationBuilder;
    }
}
