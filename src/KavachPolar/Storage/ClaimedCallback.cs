namespace KavachPolar.Storage;

/// <summary>A pending callback this instance holds under a lease.</summary>
internal readonly record struct ClaimedCallback(long Id, string UserId, string Change, int Attempts, string Owner);
