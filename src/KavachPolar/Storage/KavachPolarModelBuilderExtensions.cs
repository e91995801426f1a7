using KavachPolar.Storage;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Adds KavachPolar's tables to a host application's own DbContext.</summary>
public static class KavachPolarModelBuilderExtensions
{
    /// <summary>
    /// Adds <c>kavach_users</c> and KavachPolar's bookkeeping tables (subscriptions, processed
    /// webhooks, pending callbacks, forgotten users, the kinds of change the app's hosts handle, benefit grants, usage events waiting for Polar) to the model. Call it from <c>OnModelCreating</c>, then call
    /// <c>AddEntityFrameworkStore&lt;TContext&gt;()</c> on the builder <c>AddKavachPolar</c> returns.
    /// </summary>
    /// <remarks>Table and column names are fixed (snake_case), whatever naming convention the host uses.</remarks>
    public static ModelBuilder ApplyKavachPolarModel(this ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<KavachUser>(b =>
        {
            b.ToTable("kavach_users");
            b.HasKey(u => u.Id);
            b.Property(u => u.Id).HasColumnName("id").HasMaxLength(Limits.UserId);
            b.Property(u => u.Email).HasColumnName("email").HasMaxLength(Limits.Email);
            b.Property(u => u.Name).HasColumnName("name").HasMaxLength(Limits.Name);
            b.Property(u => u.PolarCustomerId).HasColumnName("polar_customer_id").HasMaxLength(Limits.PolarId);
            b.HasIndex(u => u.PolarCustomerId).IsUnique().HasDatabaseName("ix_kavach_users_polar_customer_id");
            b.Property(u => u.PolarSubscriptionId).HasColumnName("polar_subscription_id").HasMaxLength(Limits.PolarId);
            b.Property(u => u.PolarSubscriptionStatus).HasColumnName("polar_subscription_status").HasMaxLength(Limits.Status);
            b.Property(u => u.PolarProductId).HasColumnName("polar_product_id").HasMaxLength(Limits.PolarId);
            b.Property(u => u.PolarCurrentPeriodEnd).HasColumnName("polar_current_period_end");
            b.Property(u => u.PolarCancelAtPeriodEnd).HasColumnName("polar_cancel_at_period_end");
            b.Property(u => u.PolarScheduledProductId).HasColumnName("polar_scheduled_product_id").HasMaxLength(Limits.PolarId);
            b.Property(u => u.PolarScheduledChangeAt).HasColumnName("polar_scheduled_change_at");
            b.Property(u => u.CreatedAt).HasColumnName("created_at");
            b.Property(u => u.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<SubscriptionRecord>(b =>
        {
            b.ToTable("kavach_polar_subscriptions");
            b.HasKey(s => s.Id);
            b.Property(s => s.Id).HasColumnName("id").HasMaxLength(Limits.PolarId);
            b.Property(s => s.UserId).HasColumnName("user_id").HasMaxLength(Limits.UserId);
            b.HasIndex(s => s.UserId).HasDatabaseName("ix_kavach_polar_subscriptions_user_id");
            b.Property(s => s.CustomerId).HasColumnName("customer_id").HasMaxLength(Limits.PolarId);
            b.HasIndex(s => s.CustomerId).HasDatabaseName("ix_kavach_polar_subscriptions_customer_id");
            b.Property(s => s.CustomerExternalId).HasColumnName("customer_external_id").HasMaxLength(Limits.UserId);
            b.Property(s => s.MetadataUserId).HasColumnName("metadata_user_id").HasMaxLength(Limits.UserId);
            b.Property(s => s.Status).HasColumnName("status").HasMaxLength(Limits.Status);
            b.Property(s => s.ProductId).HasColumnName("product_id").HasMaxLength(Limits.PolarId);
            b.Property(s => s.CurrentPeriodEnd).HasColumnName("current_period_end");
            b.Property(s => s.CancelAtPeriodEnd).HasColumnName("cancel_at_period_end");
            b.Property(s => s.ScheduledProductId).HasColumnName("scheduled_product_id").HasMaxLength(Limits.PolarId);
            b.Property(s => s.ScheduledChangeAt).HasColumnName("scheduled_change_at");
            b.Property(s => s.CreatedAtUs).HasColumnName("created_at_us");
            b.Property(s => s.VersionUs).HasColumnName("version_us");
            b.Property(s => s.SourceTimestampUs).HasColumnName("source_timestamp_us");
            b.Property(s => s.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<WebhookEventRecord>(b =>
        {
            b.ToTable("kavach_polar_webhook_events");
            b.HasKey(e => e.Id);
            b.Property(e => e.Id).HasColumnName("id").HasMaxLength(Limits.WebhookId);
            b.Property(e => e.EventType).HasColumnName("event_type").HasMaxLength(Limits.EventType);
            b.Property(e => e.Outcome).HasColumnName("outcome").HasMaxLength(Limits.Status);
            b.Property(e => e.ReceivedAt).HasColumnName("received_at");
            b.HasIndex(e => e.ReceivedAt).HasDatabaseName("ix_kavach_polar_webhook_events_received_at");
            b.Property(e => e.Payload).HasColumnName("payload");
            b.Property(e => e.Error).HasColumnName("error").HasMaxLength(Limits.Error);
        });

        modelBuilder.Entity<PendingCallbackRecord>(b =>
        {
            b.ToTable("kavach_polar_callbacks");
            b.HasKey(c => c.Id);
            b.Property(c => c.Id).HasColumnName("id").ValueGeneratedOnAdd();
            b.Property(c => c.UserId).HasColumnName("user_id").HasMaxLength(Limits.UserId);
            b.HasIndex(c => new { c.UserId, c.Id }).HasDatabaseName("ix_kavach_polar_callbacks_user_id_id");
            b.Property(c => c.Change).HasColumnName("change");
            b.Property(c => c.Attempts).HasColumnName("attempts");
            b.Property(c => c.NextAttemptAtUs).HasColumnName("next_attempt_at_us");
            b.HasIndex(c => c.NextAttemptAtUs).HasDatabaseName("ix_kavach_polar_callbacks_next_attempt_at_us");
            b.Property(c => c.LockedUntilUs).HasColumnName("locked_until_us");
            b.Property(c => c.LockOwner).HasColumnName("lock_owner").HasMaxLength(Limits.LockOwner);
            b.Property(c => c.LastError).HasColumnName("last_error").HasMaxLength(Limits.Error);
            b.Property(c => c.CreatedAt).HasColumnName("created_at");
        });

        modelBuilder.Entity<ForgottenUserRecord>(b =>
        {
            b.ToTable("kavach_polar_forgotten_users");
            b.HasKey(f => f.UserId);
            b.Property(f => f.UserId).HasColumnName("user_id").HasMaxLength(Limits.UserId);
            b.Property(f => f.PolarCustomerId).HasColumnName("polar_customer_id").HasMaxLength(Limits.PolarId);
            b.HasIndex(f => f.PolarCustomerId).HasDatabaseName("ix_kavach_polar_forgotten_users_polar_customer_id");
            b.Property(f => f.ForgottenAt).HasColumnName("forgotten_at");
        });

        modelBuilder.Entity<HandledKindRecord>(b =>
        {
            b.ToTable("kavach_polar_handled_kinds");
            b.HasKey(k => k.Kind);
            b.Property(k => k.Kind).HasColumnName("kind").HasMaxLength(Limits.Kind);
            b.Property(k => k.DeclaredAtUs).HasColumnName("declared_at_us");
        });

        BenefitGrantModel.Apply(modelBuilder);
        UsageEventModel.Apply(modelBuilder);
        OrderModel.Apply(modelBuilder);
        return modelBuilder;
    }
}
