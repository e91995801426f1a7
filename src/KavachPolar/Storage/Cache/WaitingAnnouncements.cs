namespace KavachPolar.Storage.Cache;

/// <summary>
/// The user ids <see cref="CacheAnnouncer"/> has yet to announce: each at most once, in announcements of at most
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
    private int _inFlight;

    /// <summary>How many users wait or are being announced (everyone counts as one).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return (_everyone ? 1 : _waiting.Count) + _inFlight;
            }
        }
    }

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
                _inFlight++;
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
                _inFlight += all.Length;
                return all;
            }

            var some = _waiting.Take(perAnnouncement).ToArray();
            _waiting.ExceptWith(some);
            _inFlight += some.Length;
            return some;
        }
    }

    /// <summary>An announcement <see cref="Take"/> gave out has been sent.</summary>
    public void Sent(string[] announcement)
    {
        lock (_gate)
        {
            _inFlight -= announcement.Length;
        }
    }

    /// <summary>Puts back an announcement <see cref="Take"/> gave out that could not be sent.</summary>
    public void Return(string[] announcement)
    {
        lock (_gate)
        {
            _inFlight -= announcement.Length;
            foreach (var id in announcement)
            {
                AddLocked(id);
            }
        }
    }

    /// <summary>Drops what waits (what is being announced is counted until it is sent or returned).</summary>
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
