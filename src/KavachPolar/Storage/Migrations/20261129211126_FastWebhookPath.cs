using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <inheritdoc />
    public partial class FastWebhookPath : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The webhook's common case in one round trip (see KavachPolar.Storage.FastWebhookPath).
            migrationBuilder.Sql(KavachPolar.Storage.FastWebhookPath.CreateSql);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(KavachPolar.Storage.FastWebhookPath.DropSql);
        }
    }
}
