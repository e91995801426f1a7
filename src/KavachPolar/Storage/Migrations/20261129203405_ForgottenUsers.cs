using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <inheritdoc />
    public partial class ForgottenUsers : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "kavach_polar_forgotten_users",
                columns: table => new
                {
                    user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    polar_customer_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    forgotten_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_forgotten_users", x => x.user_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_forgotten_users_polar_customer_id",
                table: "kavach_polar_forgotten_users",
                column: "polar_customer_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "kavach_polar_forgotten_users");
        }
    }
}
