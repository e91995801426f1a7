using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <summary>
    /// <c>kavach_polar_orders</c>: one row per Polar order (one-time purchases and subscription orders, the user's billing
    /// history), kept from <c>order.*</c> webhooks and reconcile behind the version guard <c>modified_at ?? created_at</c>.
    /// The webhook function is unchanged: orders take the general path.
    /// </summary>
    public partial class Orders : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "kavach_polar_orders",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    customer_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    product_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    subscription_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    checkout_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    billing_reason = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    net_amount = table.Column<long>(type: "bigint", nullable: false),
                    tax_amount = table.Column<long>(type: "bigint", nullable: false),
                    total_amount = table.Column<long>(type: "bigint", nullable: false),
                    refunded_amount = table.Column<long>(type: "bigint", nullable: false),
                    refunded_tax_amount = table.Column<long>(type: "bigint", nullable: false),
                    currency = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    version_us = table.Column<long>(type: "bigint", nullable: false),
                    source_timestamp_us = table.Column<long>(type: "bigint", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_orders", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_orders_customer_id",
                table: "kavach_polar_orders",
                column: "customer_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_orders_subscription_id",
                table: "kavach_polar_orders",
                column: "subscription_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_orders_user_id_created_at",
                table: "kavach_polar_orders",
                columns: new[] { "user_id", "created_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "kavach_polar_orders");
        }
    }
}
