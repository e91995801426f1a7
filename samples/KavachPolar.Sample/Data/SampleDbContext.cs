using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Sample.Data;

/// <summary>
/// The sample's own DbContext: KavachPolar's tables (<c>kavach_users</c> and its bookkeeping) live beside the
/// sample's <c>sample_subscription_changes</c>, the way an app keeps KavachPolar inside its existing context.
/// </summary>
public sealed class SampleDbContext(DbContextOptions<SampleDbContext> options) : DbContext(options)
{
    public DbSet<SubscriptionChangeEntry> SubscriptionChanges => Set<SubscriptionChangeEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyKavachPolarModel();
        modelBuilder.Entity<SubscriptionChangeEntry>(b =>
        {
            b.ToTable("sample_subscription_changes");
            b.HasKey(c => c.Id);
            b.Property(c => c.Id).HasColumnName("id");
            b.Property(c => c.EventId).HasColumnName("event_id").HasMaxLength(200);
            b.Property(c => c.EventType).HasColumnName("event_type").HasMaxLength(100);
            b.Property(c => c.UserId).HasColumnName("user_id").HasMaxLength(200);
            b.Property(c => c.PreviousStatus).HasColumnName("previous_status").HasMaxLength(32);
            b.Property(c => c.CurrentStatus).HasColumnName("current_status").HasMaxLength(32);
            b.Property(c => c.CurrentProductId).HasColumnName("current_product_id").HasMaxLength(100);
            b.Property(c => c.CancelAtPeriodEnd).HasColumnName("cancel_at_period_end");
            b.Property(c => c.PreviousProductId).HasColumnName("previous_product_id").HasMaxLength(100);
            b.Property(c => c.PreviousCancelAtPeriodEnd).HasColumnName("previous_cancel_at_period_end");
            b.Property(c => c.ScheduledProductId).HasColumnName("scheduled_product_id").HasMaxLength(100);
            b.Property(c => c.PreviousScheduledProductId).HasColumnName("previous_scheduled_product_id").HasMaxLength(100);
            b.Property(c => c.ReceivedAt).HasColumnName("received_at");
            // One row per change: OnSubscriptionChange may run again for a change it already saw.
            b.HasIndex(c => new { c.UserId, c.EventId }).IsUnique();
        });
    }
}
