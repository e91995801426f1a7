using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace KavachPolar.Storage;

/// <summary>Which database a DbContext talks to, and where its model puts KavachPolar's tables.</summary>
internal static class StoreProvider
{
    public const string Npgsql = "Npgsql.EntityFrameworkCore.PostgreSQL";

    public const string Sqlite = "Microsoft.EntityFrameworkCore.Sqlite";

    public static bool IsPostgres(DbContext db) => db.Database.ProviderName == Npgsql;

    public static bool IsSqlite(DbContext db) => db.Database.ProviderName == Sqlite;

    /// <summary>
    /// The table of <paramref name="entity"/> as SQL names it: <paramref name="standard"/> when the model keeps the
    /// default name and schema, else the delimited, schema-qualified name; <see langword="null"/> when the model lacks
    /// the entity.
    /// </summary>
    public static string? Table(DbContext db, Type entity, string standard)
    {
        if (db.Model.FindEntityType(entity) is not { } type)
        {
            return null;
        }

        var (schema, table) = (type.GetSchema(), type.GetTableName());
        return schema is null && table == standard
            ? standard
            : db.GetService<ISqlGenerationHelper>().DelimitIdentifier(table ?? standard, schema);
    }
}
