using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary><c>kavach_polar_usage_events</c> in the model (<see cref="KavachPolarModelBuilderExtensions.ApplyKavachPolarModel"/>).</summary>
internal static class UsageEventModel
{
    public static void Apply(ModelBuilder modelBuilder) => modelBuilder.Entity<UsageEventRecord>(b =>
    {
        b.ToTable("kavach_polar_usage_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.Id).HasColumnName("id").ValueGeneratedOnAdd();
        b.Property(e => e.UserId).HasColumnName("user_id").HasMaxLength(Limits.UserId);
        b.HasIndex(e => e.UserId).HasDatabaseName("ix_kavach_polar_usage_events_user_id");
        b.Property(e => e.Name).HasColumnName("name").HasMaxLength(Limits.UsageEventName);
        b.Property(e => e.ExternalId).HasColumnName("external_id").HasMaxLength(Limits.UsageExternalId);
        b.HasIndex(e => e.ExternalId).IsUnique().HasDatabaseName("ix_kavach_polar_usage_events_external_id");
        b.Property(e => e.Metadata).HasColumnName("metadata");
        b.Property(e => e.TimestampUs).HasColumnName("timestamp_us");
        b.Property(e => e.RecordedAt).HasColumnName("recorded_at");
        b.Property(e => e.Attempts).HasColumnName("attempts");
        b.Property(e => e.NextAttemptAtUs).HasColumnName("next_attempt_at_us");
        b.HasIndex(e => e.NextAttemptAtUs).HasDatabaseName("ix_kavach_polar_usage_events_next_attempt_at_us");
        b.Property(e => e.LockedUntilUs).HasColumnName("locked_until_us");
        b.Property(e => e.LockOwner).HasColumnName("lock_owner").HasMaxLength(Limits.LockOwner);
        b.Property(e => e.LastError).HasColumnName("last_error").HasMaxLength(Limits.Error);
        b.Property(e => e.QuarantinedAt).HasColumnName("quarantined_at");
        b.Property(e => e.AcceptedAtUs).HasColumnName("accepted_at_us");
    });
}
