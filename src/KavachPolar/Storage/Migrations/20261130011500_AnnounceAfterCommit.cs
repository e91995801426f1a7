using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <summary>
    /// The webhook function without its <c>NOTIFY</c>. A notifying transaction holds PostgreSQL's database-wide notify
    /// lock through its commit's WAL flush, so with durable commits every webhook waited for every other's flush; the
    /// announcement now goes out after the commit (<see cref="KavachPolar.Storage.ChangeAnnouncer"/>).
    /// </summary>
    public partial class AnnounceAfterCommit : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The function as it is today. Before changing KavachPolar.Storage.FastWebhookPath.CreateSql again, copy
            // today's text into this migration (as FastWebhookPath.FunctionSql was), then ship a new one.
            migrationBuilder.Sql(KavachPolar.Storage.FastWebhookPath.CreateSql);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(FastWebhookPath.FunctionSql);
        }
    }
}
