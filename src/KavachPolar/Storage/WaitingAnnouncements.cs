namespace KavachPolar.Storage;

/// <summary>
/// The user ids <see cref="ChangeAnnouncer"/> has yet to announce: each at most once, in announcements of at most
/// <paramref name="perAnnouncement"/> ids. Past <paramref name="maxWaiting"/> ids the next announcement is "forget
/// everyone" (an empty payload, which no user id can be) instead. Thread-safe.
/// </summary>
internal sealed class WaitingAnnouncements(int maxWaiting, int perAnnouncement)
{
    /// <summary>The payload that tells every instance to forget everyone.</summary>
    public const string Everyone = "";

    private readonly Lock _gate = new();
    private HashSet<string> _waiting = new(StringComparer.Ordinal);
    private bool _everyone;

    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return !_everyone && _waiting.Count == 0;
            }
        }
    }

    public void Add(string userId)
    {
        lock (_gate)
        {
            AddLocked(userId);
        }
    }

    /// <summary>The next announcement, or <see langword="null"/> when nothing waits.</summary>
    public string[]? Take()
    {
        lock (_gate)
        {
            if (_everyone)
            {
                _everyone = false;
                _waiting.Clear();
                return [Everyone];
            }

            if (_waiting.Count == 0)
            {
                return null;
            }

            if (_waiting.Count <= perAnnouncement)
            {
                var all = _waiting.ToArray();
                _waiting = new HashSet<string>(StringComparer.Ordinal);
                return all;
            }

            var some = _waiting.Take(perAnnouncement).ToArray();
            _waiting.ExceptWith(some);
            return some;
        }
    }

    /// <summary>Puts back an announcement that could not be sent.</summary>
    public void Return(string[] announcement)
    {
        lock (_gate)
        {
            foreach (var id in announcement)
            {
                AddLocked(id);
            }
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _waiting.Clear();
            _everyone = false;
        }
    }

    private void AddLocked(string userId)
    {
        if (_everyone)
        {
            return;
        }

        if (userId.Length == 0 || _waiting.Count >= maxWaiting)
        {
            _everyone = true;
            _waiting.Clear();
            return;
        }

        _waiting.Add(userId);
    }
}
