namespace KavachPolar.Storage;

/// <summary>
/// A kind of change some running host of the app handles (<c>kavach_polar_handled_kinds</c>): hosts with a handler of
/// the kind declare it at start and then every 10 minutes, and a writer queues callbacks of a kind only while its
/// declaration is younger than its lifetime (see <c>KavachPolar.Callbacks.CallbackKinds</c>). One row per kind, so a
/// new kind of change is a new value here, not a new table.
/// </summary>
internal sealed class HandledKindRecord
{
    /// <summary>The kind, e.g. <c>subscription</c>.</summary>
    public required string Kind { get; set; }

    /// <summary>When a host last declared it, in microseconds since 1970 by the database's clock (PostgreSQL).</summary>
    public long DeclaredAtUs { get; set; }
}
