using System.Collections.Concurrent;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Callbacks;

/// <summary>
/// What <see cref="CallbackDispatcher"/> owes the queue: the rows it holds a lease on (renewed until they end), and the
/// work a failed round trip left for later (outcomes not written, leases of abandoned callbacks that ended, claims whose
/// answer was lost), done first once the database answers again (<see cref="CatchUpAsync"/>); and when the callbacks
/// that failed here are due again.
/// </summary>
internal sealed class LeaseBook
{
    /// <summary>Rows this instance holds a lease on, running or abandoned after the callback timeout: renewed until they end.</summary>
    private readonly ConcurrentDictionary<long, string> _held = new();

    /// <summary>
    /// Rows whose callback ran but whose outcome could not be written (the database went away): settled before
    /// anything else once it is back, instead of staying leased and holding up their user's later changes.
    /// </summary>
    private readonly ConcurrentQueue<Settlement> _unsettled = new();

    /// <summary>Leases of abandoned callbacks that have ended, handed back once the database answers.</summary>
    private readonly ConcurrentQueue<(long Id, string Owner)> _toRelease = new();

    /// <summary>
    /// Tokens of batches whose claim failed midway: the claim may have committed with its answer lost, leaving rows
    /// leased under a token nothing runs. Handed back once the database answers again.
    /// </summary>
    private readonly ConcurrentQueue<string> _unclaimed = new();

    /// <summary>
    /// When the rows whose callback failed here are due again (<see cref="TimeProvider.GetTimestamp"/> values, by this
    /// instance's clock): the dispatcher wakes for them rather than polling, so the first retry comes within seconds.
    /// </summary>
    private readonly ConcurrentDictionary<long, long> _retries = new();

    /// <summary>The leases to renew now.</summary>
    public List<(long Id, string Owner)> Held() => _held.Select(h => (h.Key, h.Value)).ToList();

    /// <summary>Claimed rows: held until they settle.</summary>
    public void Hold(IEnumerable<ClaimedCallback> claimed)
    {
        foreach (var row in claimed)
        {
            _held[row.Id] = row.Owner;
            _retries.TryRemove(row.Id, out _);
        }
    }

    /// <summary>A row whose callback failed here is due again at <paramref name="timestamp"/>.</summary>
    public void RetryAt(long id, long timestamp) => _retries[id] = timestamp;

    /// <summary>
    /// The earliest retry still expected, or <see langword="null"/>. A retry more than <paramref name="grace"/> past its
    /// time is forgotten: another instance claimed it, or the clocks differ by more than that and the poll finds it.
    /// </summary>
    public long? NextRetry(long now, long grace)
    {
        long? next = null;
        foreach (var (id, at) in _retries)
        {
            if (now - at > grace)
            {
                _retries.TryRemove(KeyValuePair.Create(id, at));
            }
            else if (next is null || at < next)
            {
                next = at;
            }
        }

        return next;
    }

    /// <summary>Whether work that earlier failures left waits for the database (see <see cref="CatchUpAsync"/>).</summary>
    public bool Owed => !_unsettled.IsEmpty || !_unclaimed.IsEmpty || !_toRelease.IsEmpty;

    /// <summary>A row whose lease is no longer this instance's to renew.</summary>
    public void Drop(long id) => _held.TryRemove(id, out _);

    /// <summary>An abandoned callback ended: its lease goes back at the next round trip.</summary>
    public void ReleaseLater(long id, string owner)
    {
        Drop(id);
        _toRelease.Enqueue((id, owner));
    }

    /// <summary>A settlement the database did not take: written at the next round trip.</summary>
    public void SettleLater(Settlement settlement) => _unsettled.Enqueue(settlement);

    /// <summary>A claim that failed midway: whatever holds its token goes back at the next round trip.</summary>
    public void UnclaimedLater(string token) => _unclaimed.Enqueue(token);

    /// <summary>Does what earlier failures left, oldest first; what fails again stays for the next time.</summary>
    public async Task CatchUpAsync(DbContext db, long nowUs)
    {
        for (var n = _unsettled.Count; n > 0 && _unsettled.TryPeek(out var pending); n--)
        {
            await CallbackQueue.SettleAsync(db, [pending], nowUs).ConfigureAwait(false);
            _unsettled.TryDequeue(out _);
        }

        for (var n = _unclaimed.Count; n > 0 && _unclaimed.TryPeek(out var lost); n--)
        {
            await CallbackQueue.ReleaseOwnerAsync(db, lost).ConfigureAwait(false);
            _unclaimed.TryDequeue(out _);
        }

        var release = new List<(long, string)>();
        while (_toRelease.TryPeek(out var r))
        {
            release.Add(r);
            _toRelease.TryDequeue(out _);
        }

        try
        {
            await CallbackQueue.ReleaseAsync(db, release).ConfigureAwait(false);
        }
        catch
        {
            release.ForEach(_toRelease.Enqueue);
            throw;
        }
    }

    /// <summary>Writes a batch's outcomes (kept for later when that fails); settled rows are no longer held.</summary>
    public async Task SettleAsync(DbContext db, List<Settlement> settlements, long nowUs)
    {
        try
        {
            await CallbackQueue.SettleAsync(db, settlements, nowUs).ConfigureAwait(false);
        }
        catch
        {
            settlements.ForEach(_unsettled.Enqueue);
            throw;
        }
        finally
        {
            foreach (var s in settlements.Where(s => !s.KeepLease))
            {
                Drop(s.Id);
            }
        }
    }

    /// <summary>Hands back rows this instance will not run after all.</summary>
    public async Task ReleaseAsync(DbContext db, List<(long Id, string Owner)> rows)
    {
        await CallbackQueue.ReleaseAsync(db, rows).ConfigureAwait(false);
        rows.ForEach(r => Drop(r.Id));
    }
}
