using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <summary>
    /// The webhook function of <see cref="AnnounceAfterCommit"/>, with its <c>search_path</c> pinned to the schema it is
    /// created in (where the same migration run creates KavachPolar's tables) and a version mark in its comment. Unpinned,
    /// its unqualified table names followed the caller's <c>search_path</c>, so a schema ahead of that one holding a
    /// table of the same name received its writes; unmarked, an application could not tell an earlier function from
    /// its own and called whatever it found.
    /// </summary>
    public partial class PinnedWebhookFunction : Migration
    {
        /// <summary>
        /// The version mark this migration writes in the function's comment; <see cref="KavachPolar.Storage.WebhookFunction.Version"/>
        /// points here while it is the latest. A later function text gets a migration and a mark of its own.
        /// </summary>
        internal const string Version = "KavachPolar webhook function, version 3";

        /// <summary>
        /// The function this migration creates, verbatim: <see cref="AnnounceAfterCommit.FunctionSql"/> (unchanged since it
        /// shipped), then the pinned <c>search_path</c> (<c>pg_temp</c> last, so no temporary table shadows a table
        /// either) and the mark. <see cref="KavachPolar.Storage.WebhookFunction.CreateSql"/> points here while it is the latest.
        /// </summary>
        internal const string FunctionSql = AnnounceAfterCommit.FunctionSql + $"""

            DO $pin$
            BEGIN
                EXECUTE format('ALTER FUNCTION kavach_polar_apply_subscription(text, text, bigint, timestamp with time zone, boolean, text, text, text, text, text, text, timestamp with time zone, boolean, bigint, bigint, text, text, text, text) SET search_path = %I, pg_temp', current_schema());
            END
            $pin$;
            COMMENT ON FUNCTION kavach_polar_apply_subscription(text, text, bigint, timestamp with time zone, boolean, text, text, text, text, text, text, timestamp with time zone, boolean, bigint, bigint, text, text, text, text) IS '{Version}';
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(FunctionSql);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(AnnounceAfterCommit.FunctionSql);
        }
    }
}
