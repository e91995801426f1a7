using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// The webhook's common case on PostgreSQL in one round trip: a SQL function (created by the shipped migration)
/// takes the customer and user locks, checks the <c>webhook-id</c>, applies the version guard, attributes the
/// subscription (metadata, else <c>customer.external_id</c>), creates or binds the user, upserts the subscription,
/// reprojects <c>kavach_users</c>, queues the callback and records the delivery, all in the statement's own
/// transaction (the caller announces the change to other instances' caches after it commits). The rare cases (an attribution conflict, no user named, a subscription
/// moving between users, a forgotten user, a redelivery of an unprocessable event) answer <c>fallback</c> before
/// writing anything, and the general EF Core path handles them. Without the function (a database created with
/// <c>EnsureCreated</c>, or another provider) the general path handles everything.
/// </summary>
internal static class WebhookFunction
{
    public const string Function = "kavach_polar_apply_subscription";

    internal const string Signature = Function + "(text, text, bigint, timestamp with time zone, boolean, text, text, text, text, text, text, timestamp with time zone, boolean, bigint, bigint, text, text, text, text, text, timestamp with time zone)";

    /// <summary>
    /// Creates (or replaces) the function as it is today: the text of the latest migration that changed it, kept there
    /// verbatim (a migration does what it did when it shipped). Tests that create the schema with <c>EnsureCreated</c>
    /// run it too. To change the function, add a migration with the new text and point this at it.
    /// </summary>
    public const string CreateSql = Migrations.BenefitGrants.FunctionSql;

    /// <summary>
    /// The mark in the comment of the function <see cref="CreateSql"/> creates. Only a function with this mark is called:
    /// another one (an earlier migration's, or a later one's during a rolling upgrade) may take other arguments the same
    /// way or answer differently, so deliveries then take the general path.
    /// </summary>
    public const string Version = Migrations.BenefitGrants.Version;

    public const string DropSql = "DROP FUNCTION IF EXISTS " + Signature + ";";

    /// <summary>The arguments of one call, already validated, truncated and attributed as the general path would.</summary>
    public sealed record Call(
        string EventId,
        string EventType,
        long SourceTimestampUs,
        DateTimeOffset Now,
        bool QueueCallback,
        string SubscriptionId,
        string CustomerId,
        string? ExternalUser,
        string? MetadataUser,
        string Status,
        string ProductId,
        DateTimeOffset? PeriodEnd,
        bool CancelAtPeriodEnd,
        long CreatedAtUs,
        long VersionUs,
        string? Email,
        string? Name,
        string? CustomerExternalId,
        string? MetadataUserId,
        string? ScheduledProductId,
        DateTimeOffset? ScheduledChangeAt);

    /// <summary>
    /// The function's answer: <c>applied</c> (with the user it changed), <c>stale</c> or <c>duplicate</c> (with the
    /// subscription's stored owner, whom an earlier delivery may have changed);
    /// <see langword="null"/> when the general path must run (no function, or the function answered <c>fallback</c>).
    /// The call runs on a raw connection where it can (see <see cref="DirectPostgres"/>), else through EF Core.
    /// </summary>
    public static async Task<(string Outcome, int Changes, string? UserId)?> TryApplyAsync(KavachDbScope store, Call c, CancellationToken ct)
    {
        if (await store.LearnAsync(ct).ConfigureAwait(false) is not { HasFunction: true })
        {
            return null;
        }

        try
        {
            Answer result;
            if (await store.OpenDirectAsync(ct).ConfigureAwait(false) is { } connection)
            {
                result = await store.QueryDirectAsync(
                    connection,
                    DirectSql,
                    Parameters(c, named: false),
                    r => new Answer { Outcome = r.GetString(0), Changes = r.GetInt32(1), UserId = r.IsDBNull(2) ? null : r.GetString(2) },
                    ct).ConfigureAwait(false) ?? throw new InvalidOperationException(Function + " answered no row.");
            }
            else
            {
                await store.OpenAsync(ct).ConfigureAwait(false);
                result = (await store.Db.Database.SqlQueryRaw<Answer>(EfSql, Parameters(c, named: true)).ToListAsync(ct).ConfigureAwait(false)).Single();
            }

            return result.Outcome == "fallback" ? null : (result.Outcome, result.Changes, result.UserId);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedFunction)
        {
            // Dropped since it was learnt: the general path, until it is asked again.
            store.FunctionMissing();
            return null;
        }
    }

    private const string DirectSql = "SELECT outcome, changes, user_id FROM " + Function
        + "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";

    private const string EfSql = "SELECT outcome AS \"Outcome\", changes AS \"Changes\", user_id AS \"UserId\" FROM " + Function
        + "(@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12, @p13, @p14, @p15, @p16, @p17, @p18, @p19, @p20)";

    /// <summary>The call's arguments in order: named <c>p0</c>… for EF Core, positional for a raw command.</summary>
    private static NpgsqlParameter[] Parameters(Call c, bool named)
    {
        var values = new (NpgsqlTypes.NpgsqlDbType Type, object? Value)[]
        {
            (NpgsqlTypes.NpgsqlDbType.Text, c.EventId),
            (NpgsqlTypes.NpgsqlDbType.Text, c.EventType),
            (NpgsqlTypes.NpgsqlDbType.Bigint, c.SourceTimestampUs),
            (NpgsqlTypes.NpgsqlDbType.TimestampTz, c.Now.ToUniversalTime()),
            (NpgsqlTypes.NpgsqlDbType.Boolean, c.QueueCallback),
            (NpgsqlTypes.NpgsqlDbType.Text, c.SubscriptionId),
            (NpgsqlTypes.NpgsqlDbType.Text, c.CustomerId),
            (NpgsqlTypes.NpgsqlDbType.Text, c.ExternalUser),
            (NpgsqlTypes.NpgsqlDbType.Text, c.MetadataUser),
            (NpgsqlTypes.NpgsqlDbType.Text, c.Status),
            (NpgsqlTypes.NpgsqlDbType.Text, c.ProductId),
            (NpgsqlTypes.NpgsqlDbType.TimestampTz, c.PeriodEnd?.ToUniversalTime()),
            (NpgsqlTypes.NpgsqlDbType.Boolean, c.CancelAtPeriodEnd),
            (NpgsqlTypes.NpgsqlDbType.Bigint, c.CreatedAtUs),
            (NpgsqlTypes.NpgsqlDbType.Bigint, c.VersionUs),
            (NpgsqlTypes.NpgsqlDbType.Text, c.Email),
            (NpgsqlTypes.NpgsqlDbType.Text, c.Name),
            (NpgsqlTypes.NpgsqlDbType.Text, c.CustomerExternalId),
            (NpgsqlTypes.NpgsqlDbType.Text, c.MetadataUserId),
            (NpgsqlTypes.NpgsqlDbType.Text, c.ScheduledProductId),
            (NpgsqlTypes.NpgsqlDbType.TimestampTz, c.ScheduledChangeAt?.ToUniversalTime()),
        };
        var parameters = new NpgsqlParameter[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            parameters[i] = new NpgsqlParameter { NpgsqlDbType = values[i].Type, Value = values[i].Value ?? DBNull.Value };
            if (named)
            {
                parameters[i].ParameterName = "p" + i;
            }
        }

        return parameters;
    }

    private sealed class Answer
    {
        public string Outcome { get; set; } = "";

        public int Changes { get; set; }

        public string? UserId { get; set; }
    }
}
