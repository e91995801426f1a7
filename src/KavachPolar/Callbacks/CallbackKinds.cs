using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Callbacks;

/// <summary>
/// Decides whether a change of some kind is queued as a callback: when this process handles the kind, or when some
/// running host of the app does, whichever process writes the change (a job, a command-line tool, a host that only
/// takes webhooks). Hosts with a handler declare its kind in <c>kavach_polar_handled_kinds</c> at start and then every
/// <see cref="DeclareEvery"/> (<see cref="CallbackKindDeclaration"/>); a declaration counts for
/// <see cref="Lifetime"/> after it was last made, so a host that stops handling a kind (a deploy removed its handler)
/// stops making writers queue it within <see cref="Lifetime"/> plus <see cref="RereadEvery"/>, while a host restarting
/// or briefly down keeps it. A kind no host handles is never queued, so it never fills the outbox or holds up another
/// kind. A second kind of change is a new <see cref="IChangeHandlers"/> and a new value in the table.
/// </summary>
/// <remarks>
/// A process without handlers reads the declarations once (<see cref="ReadyAsync"/>, before its first unit of work
/// that may change a user) and then again in the background every <see cref="RereadEvery"/>, the last answer serving
/// meanwhile; a process that handles every kind never reads them. On PostgreSQL the declaration's time and its age
/// are the database's clock; other providers use each process's clock. A database without the table (a host's own
/// DbContext not yet migrated) counts as no declaration: this process's own handlers decide, as before the table
/// existed, and warning 3006 says so.
/// </remarks>
internal sealed class CallbackKinds(IEnumerable<IChangeHandlers> handlers, KavachStore store, TimeProvider time, ILogger<CallbackKinds> logger)
{
    /// <summary>Subscription changes (<see cref="KavachPolarOptions.OnSubscriptionChange"/>, <see cref="IKavachSubscriptionChangeHandler"/>).</summary>
    public const string Subscription = "subscription";

    /// <summary>Benefit changes (<see cref="KavachPolarOptions.OnBenefitChange"/>, <see cref="IKavachBenefitChangeHandler"/>).</summary>
    public const string Benefit = "benefit";

    /// <summary>
    /// How often a host with handlers declares their kinds: well inside <see cref="Lifetime"/>, and rare, since an idle
    /// host's every statement counts (a serverless database bills for it; at <c>dotnet new web</c>'s log levels EF Core
    /// logs it).
    /// </summary>
    public static readonly TimeSpan DeclareEvery = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a declaration counts after a host last made it: long enough that a restart, a deploy or an outage of
    /// the hosts shorter than this loses no callback of a change a job writes meanwhile; short enough that the callbacks
    /// of a handler a deploy removed stop piling up (those already queued stay until deleted; see the README).
    /// </summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>How often a process without handlers reads the declarations again.</summary>
    public static readonly TimeSpan RereadEvery = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    private readonly IChangeHandlers[] _handlers = [.. handlers];

    private Declared? _declared;
    private Task? _firstRead;
    private int _refreshing;
    private int _toldTableMissing;

    /// <summary>The kinds declared when last read, and when to read again (a <see cref="TimeProvider.GetTimestamp"/> value).</summary>
    private sealed record Declared(IReadOnlySet<string> Kinds, long RefreshAfter);

    /// <summary>The kinds this process handles.</summary>
    public IReadOnlyList<string> HandledHere => [.. _handlers.Where(h => h.Any).Select(h => h.Kind).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// Whether a change of <paramref name="kind"/> is queued: this process handles it, or a host declared it within
    /// <see cref="Lifetime"/>. Before <see cref="ReadyAsync"/> has read the declarations it answers yes, so a caller
    /// that forgot to get ready queues rather than loses a callback.
    /// </summary>
    public bool Queues(string kind)
    {
        if (HandlesHere(kind))
        {
            return true;
        }

        var declared = Volatile.Read(ref _declared);
        if (declared is null)
        {
            return true;
        }

        if (time.GetTimestamp() > declared.RefreshAfter && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            _ = Task.Run(RefreshAsync);
        }

        return declared.Kinds.Contains(kind);
    }

    /// <summary>
    /// Reads the declarations unless this process handles every kind or has read them already; call it before a unit
    /// of work that may change a user, outside its transaction. Fails as the store fails (the write would too).
    /// </summary>
    public Task ReadyAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _declared) is not null || _handlers.All(h => h.Any))
        {
            return Task.CompletedTask;
        }

        var first = Volatile.Read(ref _firstRead);
        if (first is null || first.IsFaulted || first.IsCanceled)
        {
            var started = ReadAsync(CancellationToken.None);
            first = Interlocked.CompareExchange(ref _firstRead, started, first) == first ? started : Volatile.Read(ref _firstRead)!;
        }

        return first.WaitAsync(ct);
    }

    /// <summary>Records that this process handles its kinds now (a host's <see cref="CallbackKindDeclaration"/>). Returns whether the table exists.</summary>
    public async Task<bool> DeclareAsync(CancellationToken ct)
    {
        var kinds = HandledHere;
        if (kinds.Count == 0)
        {
            return true;
        }

        return await store.RunAsync((scope, t) => HandledKindsTable.DeclareAsync(scope.Db, kinds, UnixTime.Microseconds(time.GetUtcNow()), t), ct).ConfigureAwait(false);
    }

    private bool HandlesHere(string kind)
    {
        foreach (var h in _handlers)
        {
            if (h.Kind == kind && h.Any)
            {
                return true;
            }
        }

        return false;
    }

    private async Task ReadAsync(CancellationToken ct)
    {
        var kinds = await store.RunAsync((scope, t) => HandledKindsTable.ReadAsync(scope.Db, Lifetime, UnixTime.Microseconds(time.GetUtcNow()), t), ct).ConfigureAwait(false);
        if (kinds is null && Interlocked.Exchange(ref _toldTableMissing, 1) == 0)
        {
            Log.HandledKindsTableMissing(logger);
        }

        Volatile.Write(ref _declared, new Declared(new HashSet<string>(kinds ?? [], StringComparer.Ordinal), After(RereadEvery)));
    }

    private async Task RefreshAsync()
    {
        try
        {
            await ReadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Read again a few seconds later; the last answer serves meanwhile.
            Log.HandledKindsReadFailed(logger, e.GetType().Name);
            if (Volatile.Read(ref _declared) is { } old)
            {
                Volatile.Write(ref _declared, old with { RefreshAfter = After(RetryAfterFailure) });
            }
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private long After(TimeSpan delay) => time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
}
