using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <summary>
    /// <c>kavach_polar_handled_kinds</c>: the kinds of change some running host of the app handles, each with when a
    /// host last declared it, so that a process without handlers (a job, a command-line tool, a host that only takes
    /// webhooks) queues the callbacks another host will run (<see cref="KavachPolar.Callbacks.CallbackKinds"/>).
    /// </summary>
    public partial class HandledKinds : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "kavach_polar_handled_kinds",
                columns: table => new
                {
                    kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    declared_at_us = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_handled_kinds", x => x.kind);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "kavach_polar_handled_kinds");
        }
    }
}
