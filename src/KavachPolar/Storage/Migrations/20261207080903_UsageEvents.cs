using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <summary>
    /// <c>kavach_polar_usage_events</c>: the usage events <see cref="KavachPolar.IKavachPolarUsage.RecordAsync"/> recorded,
    /// waiting for Polar's ingest (or accepted and kept a few hours, or quarantined with Polar's error), unique by
    /// <c>external_id</c>.
    /// </summary>
    public partial class UsageEvents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "kavach_polar_usage_events",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    name = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    external_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    metadata = table.Column<string>(type: "text", nullable: false),
                    timestamp_us = table.Column<long>(type: "bigint", nullable: false),
                    recorded_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    next_attempt_at_us = table.Column<long>(type: "bigint", nullable: false),
                    locked_until_us = table.Column<long>(type: "bigint", nullable: true),
                    lock_owner = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    last_error = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    quarantined_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    accepted_at_us = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_usage_events", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_usage_events_external_id",
                table: "kavach_polar_usage_events",
                column: "external_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_usage_events_next_attempt_at_us",
                table: "kavach_polar_usage_events",
                column: "next_attempt_at_us");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_usage_events_user_id",
                table: "kavach_polar_usage_events",
                column: "user_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "kavach_polar_usage_events");
        }
    }
}
