namespace KavachPolar.Storage;

/// <summary>What became of one claimed callback.</summary>
/// <param name="Id">The row.</param>
/// <param name="Owner">The lease token it was claimed under.</param>
/// <param name="Succeeded">Delete the row.</param>
/// <param name="Attempts">Failed: the attempts so far.</param>
/// <param name="Delay">Failed: how long until the next attempt.</param>
/// <param name="Error">Failed: the exception type.</param>
/// <param name="KeepLease">Failed by timing out while the callback still runs: keep the lease until it ends.</param>
internal readonly record struct Settlement(long Id, string Owner, bool Succeeded, int Attempts, TimeSpan Delay, string? Error, bool KeepLease = false);
