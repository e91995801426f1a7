using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "kavach_polar_callbacks",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    change = table.Column<string>(type: "text", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    next_attempt_at_us = table.Column<long>(type: "bigint", nullable: false),
                    locked_until_us = table.Column<long>(type: "bigint", nullable: true),
                    lock_owner = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    last_error = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_callbacks", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "kavach_polar_subscriptions",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    customer_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    customer_external_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    metadata_user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    product_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    current_period_end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    cancel_at_period_end = table.Column<bool>(type: "boolean", nullable: false),
                    created_at_us = table.Column<long>(type: "bigint", nullable: false),
                    version_us = table.Column<long>(type: "bigint", nullable: false),
                    source_timestamp_us = table.Column<long>(type: "bigint", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_subscriptions", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "kavach_polar_webhook_events",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    event_type = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    outcome = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    payload = table.Column<string>(type: "text", nullable: true),
                    error = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_webhook_events", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "kavach_users",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    email = table.Column<string>(type: "character varying(320)", maxLength: 320, nullable: true),
                    name = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    polar_customer_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    polar_subscription_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    polar_subscription_status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    polar_product_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    polar_current_period_end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    polar_cancel_at_period_end = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_users", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_callbacks_next_attempt_at_us",
                table: "kavach_polar_callbacks",
                column: "next_attempt_at_us");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_callbacks_user_id_id",
                table: "kavach_polar_callbacks",
                columns: new[] { "user_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_subscriptions_customer_id",
                table: "kavach_polar_subscriptions",
                column: "customer_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_subscriptions_user_id",
                table: "kavach_polar_subscriptions",
                column: "user_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_webhook_events_received_at",
                table: "kavach_polar_webhook_events",
                column: "received_at");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_users_polar_customer_id",
                table: "kavach_users",
                column: "polar_customer_id",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "kavach_polar_callbacks");

            migrationBuilder.DropTable(
                name: "kavach_polar_subscriptions");

            migrationBuilder.DropTable(
                name: "kavach_polar_webhook_events");

            migrationBuilder.DropTable(
                name: "kavach_users");
        }
    }
}
