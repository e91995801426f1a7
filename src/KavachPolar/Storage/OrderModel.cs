using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary><c>kavach_polar_orders</c> in the model (<see cref="KavachPolarModelBuilderExtensions.ApplyKavachPolarModel"/>).</summary>
internal static class OrderModel
{
    public static void Apply(ModelBuilder modelBuilder) => modelBuilder.Entity<OrderRecord>(b =>
    {
        b.ToTable("kavach_polar_orders");
        b.HasKey(o => o.Id);
        b.Property(o => o.Id).HasColumnName("id").HasMaxLength(Limits.PolarId);
        b.Property(o => o.UserId).HasColumnName("user_id").HasMaxLength(Limits.UserId);
        b.HasIndex(o => new { o.UserId, o.CreatedAt }).HasDatabaseName("ix_kavach_polar_orders_user_id_created_at");
        b.Property(o => o.CustomerId).HasColumnName("customer_id").HasMaxLength(Limits.PolarId);
        b.HasIndex(o => o.CustomerId).HasDatabaseName("ix_kavach_polar_orders_customer_id");
        b.Property(o => o.ProductId).HasColumnName("product_id").HasMaxLength(Limits.PolarId);
        b.Property(o => o.SubscriptionId).HasColumnName("subscription_id").HasMaxLength(Limits.PolarId);
        b.HasIndex(o => o.SubscriptionId).HasDatabaseName("ix_kavach_polar_orders_subscription_id");
        b.Property(o => o.CheckoutId).HasColumnName("checkout_id").HasMaxLength(Limits.PolarId);
        b.Property(o => o.Status).HasColumnName("status").HasMaxLength(Limits.Status);
        b.Property(o => o.BillingReason).HasColumnName("billing_reason").HasMaxLength(Limits.Status);
        b.Property(o => o.NetAmount).HasColumnName("net_amount");
        b.Property(o => o.TaxAmount).HasColumnName("tax_amount");
        b.Property(o => o.TotalAmount).HasColumnName("total_amount");
        b.Property(o => o.RefundedAmount).HasColumnName("refunded_amount");
        b.Property(o => o.RefundedTaxAmount).HasColumnName("refunded_tax_amount");
        b.Property(o => o.Currency).HasColumnName("currency").HasMaxLength(Limits.Currency);
        b.Property(o => o.CreatedAt).HasColumnName("created_at");
        b.Property(o => o.VersionUs).HasColumnName("version_us");
        b.Property(o => o.SourceTimestampUs).HasColumnName("source_timestamp_us");
        b.Property(o => o.UpdatedAt).HasColumnName("updated_at");
    });
}
