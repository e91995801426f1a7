using System.Collections.Concurrent;
using System.Diagnostics;
using KavachPolar.Usage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace KavachPolar.Billing;

/// <summary>
/// Wakes the usage sender once a host's transaction that a usage event joined commits, and never before (the sender
/// would find nothing: the row is invisible until the commit). EF Core reports every commit and rollback of a
/// transaction it began (<c>BeginTransaction</c> on the DbContext) to its <see cref="DiagnosticListener"/>; this
/// listens only while such a transaction is open, so other commits cost nothing. A transaction EF Core did not begin
/// (<c>UseTransaction</c> over the host's own <c>DbTransaction</c>) is not reported: its events are found by the
/// sender's poll, within <c>PollInterval</c>.
/// </summary>
internal sealed class UsageCommitSignal : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private static readonly string Committed = RelationalEventId.TransactionCommitted.Name!;
    private static readonly string RolledBack = RelationalEventId.TransactionRolledBack.Name!;
    private static readonly string Disposed = RelationalEventId.TransactionDisposed.Name!;

    private readonly UsageSignal _signal;
    private readonly ConcurrentDictionary<Guid, byte> _waiting = new();
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Lock _lock = new();
    private IDisposable? _all;

    public UsageCommitSignal(UsageSignal signal)
    {
        _signal = signal;
    }

    /// <summary>Signals the sender when the transaction <paramref name="transactionId"/> commits.</summary>
    public void AfterCommitOf(Guid transactionId)
    {
        _waiting[transactionId] = 0;
        if (_all is null)
        {
            lock (_lock)
            {
                _all ??= DiagnosticListener.AllListeners.Subscribe(this);
            }
        }
    }

    /// <summary>Transactions waited for (tests).</summary>
    internal int Waiting => _waiting.Count;

    void IObserver<DiagnosticListener>.OnNext(DiagnosticListener value)
    {
        if (value.Name == DbLoggerCategory.Name)
        {
            lock (_lock)
            {
                _subscriptions.Add(value.Subscribe(this, IsEnabled));
            }
        }
    }

    private bool IsEnabled(string name) => !_waiting.IsEmpty && (name == Committed || name == RolledBack || name == Disposed);

    void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> value)
    {
        var id = value.Value switch
        {
            TransactionEndEventData end => end.TransactionId,
            TransactionEventData e => e.TransactionId,
            _ => Guid.Empty,
        };
        if (id == Guid.Empty || !_waiting.TryRemove(id, out _))
        {
            return;
        }

        if (value.Key == Committed)
        {
            _signal.Notify();
        }
    }

    void IObserver<DiagnosticListener>.OnCompleted()
    {
    }

    void IObserver<DiagnosticListener>.OnError(Exception error)
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnCompleted()
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnError(Exception error)
    {
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _all?.Dispose();
            foreach (var s in _subscriptions)
            {
                s.Dispose();
            }

            _subscriptions.Clear();
        }
    }
}
