using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary><c>kavach_polar_benefit_grants</c> in the model (<see cref="KavachPolarModelBuilderExtensions.ApplyKavachPolarModel"/>).</summary>
internal static class BenefitGrantModel
{
    public static void Apply(ModelBuilder modelBuilder) => modelBuilder.Entity<BenefitGrantRecord>(b =>
    {
        b.ToTable("kavach_polar_benefit_grants");
        b.HasKey(g => g.Id);
        b.Property(g => g.Id).HasColumnName("id").HasMaxLength(Limits.PolarId);
        b.Property(g => g.UserId).HasColumnName("user_id").HasMaxLength(Limits.UserId);
        b.HasIndex(g => g.UserId).HasDatabaseName("ix_kavach_polar_benefit_grants_user_id");
        b.Property(g => g.CustomerId).HasColumnName("customer_id").HasMaxLength(Limits.PolarId);
        b.HasIndex(g => g.CustomerId).HasDatabaseName("ix_kavach_polar_benefit_grants_customer_id");
        b.Property(g => g.MemberId).HasColumnName("member_id").HasMaxLength(Limits.PolarId);
        b.Property(g => g.BenefitId).HasColumnName("benefit_id").HasMaxLength(Limits.PolarId);
        b.Property(g => g.BenefitType).HasColumnName("benefit_type").HasMaxLength(Limits.BenefitType);
        b.Property(g => g.BenefitDescription).HasColumnName("benefit_description").HasMaxLength(Limits.BenefitDescription);
        b.Property(g => g.SubscriptionId).HasColumnName("subscription_id").HasMaxLength(Limits.PolarId);
        b.HasIndex(g => g.SubscriptionId).HasDatabaseName("ix_kavach_polar_benefit_grants_subscription_id");
        b.Property(g => g.OrderId).HasColumnName("order_id").HasMaxLength(Limits.PolarId);
        b.HasIndex(g => g.OrderId).HasDatabaseName("ix_kavach_polar_benefit_grants_order_id");
        b.Property(g => g.GrantedAt).HasColumnName("granted_at");
        b.Property(g => g.RevokedAt).HasColumnName("revoked_at");
        b.Property(g => g.ErrorType).HasColumnName("error_type").HasMaxLength(Limits.EventType);
        b.Property(g => g.ErrorMessage).HasColumnName("error_message").HasMaxLength(Limits.Error);
        b.Property(g => g.Properties).HasColumnName("properties");
        b.Property(g => g.CreatedAtUs).HasColumnName("created_at_us");
        b.Property(g => g.VersionUs).HasColumnName("version_us");
        b.Property(g => g.SourceTimestampUs).HasColumnName("source_timestamp_us");
        b.Property(g => g.UpdatedAt).HasColumnName("updated_at");
    });
}
