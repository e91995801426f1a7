using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KavachPolar.Storage.Migrations
{
    /// <summary>
    /// Benefit grants (<c>kavach_polar_benefit_grants</c>), one row per Polar grant, and the webhook function's version 5:
    /// a subscription delivery whose customer has grants of a subscription not linked to a user yet (a grant that arrived
    /// before its subscription, or one of an orphan subscription a binding may link) answers <c>fallback</c>, so the
    /// general path links them and tells the user's benefit changes.
    /// </summary>
    public partial class BenefitGrants : Migration
    {
        /// <summary>The version mark this migration writes in the function's comment.</summary>
        internal const string Version = "KavachPolar webhook function, version 5";

        internal const string Signature = ScheduledPlanChange.Signature;

        /// <summary>
        /// The function this migration creates, verbatim: <see cref="ScheduledPlanChange.FunctionSql"/> with the benefit
        /// grants' fallback after the attribution. <see cref="KavachPolar.Storage.WebhookFunction.CreateSql"/> points here
        /// while it is the latest.
        /// </summary>
        internal const string FunctionSql = $"""
            DROP FUNCTION IF EXISTS kavach_polar_apply_subscription(text, text, bigint, timestamp with time zone, boolean, text, text, text, text, text, text, timestamp with time zone, boolean, bigint, bigint, text, text, text, text, text, timestamp with time zone);
            CREATE FUNCTION kavach_polar_apply_subscription(
                p_event_id text, p_event_type text, p_source_ts_us bigint, p_now timestamptz, p_queue boolean,
                p_id text, p_customer_id text, p_external_user text, p_metadata_user text,
                p_status text, p_product_id text, p_period_end timestamptz, p_cancel boolean,
                p_created_at_us bigint, p_version_us bigint, p_email text, p_name text,
                p_customer_external_id text, p_metadata_user_id text,
                p_scheduled_product text, p_scheduled_at timestamptz)
            RETURNS TABLE (outcome text, changes integer, user_id text)
            LANGUAGE plpgsql AS $fn$
            #variable_conflict use_column
            DECLARE
                v_recorded text;
                v_rec_found boolean;
                v_rec_version bigint;
                v_rec_source bigint;
                v_rec_user text;
                v_user text;
                v_binds boolean;
                u kavach_users%ROWTYPE;
                cur kavach_polar_subscriptions%ROWTYPE;
                v_new_id text;
                v_new_status text;
                v_new_product text;
                v_new_end timestamptz;
                v_new_cancel boolean;
                v_new_sched_product text;
                v_new_sched_at timestamptz;
                v_changed boolean;
                v_changes integer := 0;
            BEGIN
                PERFORM pg_advisory_xact_lock(hashtextextended('kavach:customer:' || p_customer_id, 0));

                SELECT e.outcome INTO v_recorded FROM kavach_polar_webhook_events e WHERE e.id = p_event_id;
                IF FOUND THEN
                    -- A duplicate names the subscription's owner: its first delivery may have committed unannounced.
                    RETURN QUERY SELECT CASE WHEN v_recorded = 'unprocessable' THEN 'fallback' ELSE 'duplicate' END, 0,
                        (SELECT s.user_id FROM kavach_polar_subscriptions s WHERE s.id = p_id)::text;
                    RETURN;
                END IF;

                SELECT s.version_us, s.source_timestamp_us, s.user_id INTO v_rec_version, v_rec_source, v_rec_user
                FROM kavach_polar_subscriptions s WHERE s.id = p_id;
                v_rec_found := FOUND;
                IF v_rec_found AND (v_rec_version > p_version_us OR (v_rec_version = p_version_us AND v_rec_source >= p_source_ts_us)) THEN
                    INSERT INTO kavach_polar_webhook_events (id, event_type, outcome, received_at) VALUES (p_event_id, p_event_type, 'stale', p_now);
                    RETURN QUERY SELECT 'stale'::text, 0, v_rec_user;
                    RETURN;
                END IF;

                -- Attribution: metadata (this subscription only), else the customer's external id.
                IF p_metadata_user IS NOT NULL THEN
                    IF p_external_user IS NOT NULL AND p_external_user <> p_metadata_user THEN
                        RETURN QUERY SELECT 'fallback'::text, 0, NULL::text;
                        RETURN;
                    END IF;
                    v_user := p_metadata_user;
                    v_binds := p_external_user IS NOT NULL;
                ELSIF p_external_user IS NOT NULL THEN
                    v_user := p_external_user;
                    v_binds := true;
                ELSE
                    RETURN QUERY SELECT 'fallback'::text, 0, NULL::text;
                    RETURN;
                END IF;

                IF v_rec_found AND v_rec_user IS DISTINCT FROM v_user THEN
                    RETURN QUERY SELECT 'fallback'::text, 0, NULL::text;
                    RETURN;
                END IF;

                -- Benefit grants that arrived before their subscription (or of the customer's orphan subscriptions, which a
                -- binding below may link): the general path links them and tells their user's benefit changes.
                IF EXISTS (SELECT 1 FROM kavach_polar_benefit_grants g WHERE g.customer_id = p_customer_id
                    AND g.subscription_id IS NOT NULL AND (g.user_id IS NULL OR (g.subscription_id = p_id AND g.user_id <> v_user))) THEN
                    RETURN QUERY SELECT 'fallback'::text, 0, NULL::text;
                    RETURN;
                END IF;

                PERFORM pg_advisory_xact_lock(hashtextextended('kavach:user:' || v_user, 0));
                SELECT * INTO u FROM kavach_users WHERE id = v_user;
                IF NOT FOUND THEN
                    IF EXISTS (SELECT 1 FROM kavach_polar_forgotten_users f WHERE f.user_id = v_user OR f.polar_customer_id = p_customer_id) THEN
                        RETURN QUERY SELECT 'fallback'::text, 0, NULL::text;
                        RETURN;
                    END IF;
                    INSERT INTO kavach_users (id, email, name, polar_cancel_at_period_end, created_at, updated_at)
                    VALUES (v_user, p_email, p_name, false, p_now, p_now);
                    SELECT * INTO u FROM kavach_users WHERE id = v_user;
                END IF;

                INSERT INTO kavach_polar_subscriptions AS s (id, user_id, customer_id, customer_external_id, metadata_user_id, status, product_id,
                    current_period_end, cancel_at_period_end, scheduled_product_id, scheduled_change_at, created_at_us, version_us, source_timestamp_us, updated_at)
                VALUES (p_id, v_user, p_customer_id, p_customer_external_id, p_metadata_user_id, p_status, p_product_id,
                    p_period_end, p_cancel, p_scheduled_product, p_scheduled_at, p_created_at_us, p_version_us, p_source_ts_us, p_now)
                ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, customer_id = EXCLUDED.customer_id,
                    customer_external_id = EXCLUDED.customer_external_id, metadata_user_id = EXCLUDED.metadata_user_id,
                    status = EXCLUDED.status, product_id = EXCLUDED.product_id, current_period_end = EXCLUDED.current_period_end,
                    cancel_at_period_end = EXCLUDED.cancel_at_period_end,
                    scheduled_product_id = EXCLUDED.scheduled_product_id, scheduled_change_at = EXCLUDED.scheduled_change_at, created_at_us = EXCLUDED.created_at_us,
                    version_us = EXCLUDED.version_us, source_timestamp_us = EXCLUDED.source_timestamp_us, updated_at = EXCLUDED.updated_at;

                -- A trusted binding (the customer's external id is this user), unless another user holds the customer;
                -- binding links the customer's orphan subscriptions.
                IF v_binds THEN
                    IF u.polar_customer_id IS DISTINCT FROM p_customer_id THEN
                        IF NOT EXISTS (SELECT 1 FROM kavach_users o WHERE o.polar_customer_id = p_customer_id AND o.id <> v_user) THEN
                            UPDATE kavach_users SET polar_customer_id = p_customer_id WHERE id = v_user;
                            u.polar_customer_id := p_customer_id;
                            UPDATE kavach_polar_subscriptions o SET user_id = v_user WHERE o.customer_id = p_customer_id AND o.user_id IS NULL;
                        END IF;
                    ELSE
                        UPDATE kavach_polar_subscriptions o SET user_id = v_user WHERE o.customer_id = p_customer_id AND o.user_id IS NULL;
                    END IF;
                END IF;

                -- The current subscription: entitled before other live ones, the most recently created among equals.
                SELECT * INTO cur FROM kavach_polar_subscriptions s
                WHERE s.user_id = v_user AND s.status IN ('active', 'trialing', 'past_due', 'incomplete', 'paused')
                ORDER BY CASE WHEN s.status IN ('active', 'trialing') THEN 0 ELSE 1 END, s.created_at_us DESC, s.id COLLATE "C"
                LIMIT 1;
                IF FOUND THEN
                    v_new_id := cur.id;
                    v_new_status := cur.status;
                    v_new_product := cur.product_id;
                    v_new_end := cur.current_period_end;
                    v_new_cancel := cur.cancel_at_period_end;
                    v_new_sched_product := cur.scheduled_product_id;
                    v_new_sched_at := cur.scheduled_change_at;
                ELSE
                    v_new_id := NULL;
                    v_new_product := NULL;
                    v_new_end := NULL;
                    v_new_cancel := false;
                    v_new_sched_product := NULL;
                    v_new_sched_at := NULL;
                    SELECT s.status INTO v_new_status FROM kavach_polar_subscriptions s WHERE s.user_id = v_user
                    ORDER BY s.version_us DESC, s.source_timestamp_us DESC, s.id COLLATE "C" LIMIT 1;
                    v_new_status := COALESCE(v_new_status, u.polar_subscription_status);
                END IF;

                v_changed := u.polar_subscription_id IS DISTINCT FROM v_new_id
                    OR (v_new_id IS NOT NULL AND (u.polar_subscription_status IS DISTINCT FROM v_new_status
                        OR u.polar_product_id IS DISTINCT FROM v_new_product
                        OR u.polar_current_period_end IS DISTINCT FROM v_new_end
                        OR u.polar_cancel_at_period_end IS DISTINCT FROM v_new_cancel
                        OR u.polar_scheduled_product_id IS DISTINCT FROM v_new_sched_product
                        OR u.polar_scheduled_change_at IS DISTINCT FROM v_new_sched_at));
                IF v_changed OR u.polar_subscription_status IS DISTINCT FROM v_new_status THEN
                    UPDATE kavach_users SET polar_subscription_id = v_new_id, polar_subscription_status = v_new_status,
                        polar_product_id = v_new_product, polar_current_period_end = v_new_end,
                        polar_cancel_at_period_end = v_new_cancel, polar_scheduled_product_id = v_new_sched_product,
                        polar_scheduled_change_at = v_new_sched_at, updated_at = p_now
                    WHERE id = v_user;
                END IF;

                IF v_changed THEN
                    v_changes := 1;
                    IF p_queue THEN
                        INSERT INTO kavach_polar_callbacks (user_id, change, attempts, next_attempt_at_us, created_at)
                        VALUES (v_user, json_build_object(
                            'userId', v_user,
                            'current', CASE WHEN v_new_id IS NULL THEN NULL ELSE json_build_object(
                                'id', v_new_id, 'status', v_new_status, 'productId', v_new_product,
                                'currentPeriodEnd', to_char(v_new_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                                'cancelAtPeriodEnd', v_new_cancel,
                                'scheduledChange', CASE WHEN v_new_sched_product IS NULL OR v_new_sched_at IS NULL THEN NULL ELSE json_build_object(
                                    'productId', v_new_sched_product,
                                    'appliesAt', to_char(v_new_sched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')) END) END,
                            'previous', CASE WHEN u.polar_subscription_id IS NULL THEN NULL ELSE json_build_object(
                                'id', u.polar_subscription_id, 'status', COALESCE(u.polar_subscription_status, ''), 'productId', COALESCE(u.polar_product_id, ''),
                                'currentPeriodEnd', to_char(u.polar_current_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                                'cancelAtPeriodEnd', u.polar_cancel_at_period_end,
                                'scheduledChange', CASE WHEN u.polar_scheduled_product_id IS NULL OR u.polar_scheduled_change_at IS NULL THEN NULL ELSE json_build_object(
                                    'productId', u.polar_scheduled_product_id,
                                    'appliesAt', to_char(u.polar_scheduled_change_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')) END) END,
                            'eventId', p_event_id,
                            'eventType', p_event_type)::text, 0, 0, p_now);
                    END IF;
                END IF;

                INSERT INTO kavach_polar_webhook_events (id, event_type, outcome, received_at) VALUES (p_event_id, p_event_type, 'applied', p_now);
                RETURN QUERY SELECT 'applied'::text, v_changes, v_user;
            END
            $fn$;

            DO $pin$
            BEGIN
                EXECUTE format('ALTER FUNCTION ' || 'kavach_polar_apply_subscription(text, text, bigint, timestamp with time zone, boolean, text, text, text, text, text, text, timestamp with time zone, boolean, bigint, bigint, text, text, text, text, text, timestamp with time zone)' || ' SET search_path = %I, pg_temp', current_schema());
            END
            $pin$;
            COMMENT ON FUNCTION kavach_polar_apply_subscription(text, text, bigint, timestamp with time zone, boolean, text, text, text, text, text, text, timestamp with time zone, boolean, bigint, bigint, text, text, text, text, text, timestamp with time zone) IS '{Version}';
            """;
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "kavach_polar_benefit_grants",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    user_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    customer_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    member_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    benefit_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    benefit_type = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    benefit_description = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    subscription_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    order_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    granted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    revoked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    error_type = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    error_message = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    properties = table.Column<string>(type: "text", nullable: false),
                    created_at_us = table.Column<long>(type: "bigint", nullable: false),
                    version_us = table.Column<long>(type: "bigint", nullable: false),
                    source_timestamp_us = table.Column<long>(type: "bigint", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_kavach_polar_benefit_grants", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_benefit_grants_customer_id",
                table: "kavach_polar_benefit_grants",
                column: "customer_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_benefit_grants_order_id",
                table: "kavach_polar_benefit_grants",
                column: "order_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_benefit_grants_subscription_id",
                table: "kavach_polar_benefit_grants",
                column: "subscription_id");

            migrationBuilder.CreateIndex(
                name: "ix_kavach_polar_benefit_grants_user_id",
                table: "kavach_polar_benefit_grants",
                column: "user_id");

            migrationBuilder.Sql(FunctionSql);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Version 4 refers to no grant; it replaces this one under the same signature.
            migrationBuilder.Sql(ScheduledPlanChange.FunctionSql);

            migrationBuilder.DropTable(
                name: "kavach_polar_benefit_grants");
        }
    }
}
