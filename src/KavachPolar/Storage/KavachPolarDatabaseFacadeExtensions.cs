using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Microsoft.EntityFrameworkCore;

/// <summary>KavachPolar's database functions, for a database whose tables were created with <c>EnsureCreated</c>.</summary>
public static class KavachPolarDatabaseFacadeExtensions
{
    /// <summary>
    /// Creates, or replaces with this version's, the PostgreSQL function that applies a webhook in one round trip, in a
    /// database whose tables were created with <c>EnsureCreated</c> (which creates tables only, never functions): call it
    /// right after <c>EnsureCreatedAsync()</c>. Without it every webhook takes the general path: correct, several round
    /// trips and several times the CPU slower. KavachPolar's migrations, and a migration that calls
    /// <c>migrationBuilder.CreateKavachPolarFunctions()</c>, install the same function; with migrations, do not call this.
    /// Does nothing with other providers. The function finds KavachPolar's tables in the schema it is created in (the
    /// connection's <c>search_path</c>): a model that puts them in a schema of its own takes the general path whatever
    /// this installs. The connection's role needs the right to create functions in that schema.
    /// </summary>
    /// <param name="database">The DbContext's database (<c>dbContext.Database</c>) holding KavachPolar's tables.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>A task that completes once the function is created.</returns>
    public static async Task CreateKavachPolarFunctionsAsync(this DatabaseFacade database, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (database.ProviderName == StoreProvider.Npgsql)
        {
            await database.ExecuteSqlRawAsync(WebhookFunction.CreateSql, cancellationToken).ConfigureAwait(false);
        }
    }
}
