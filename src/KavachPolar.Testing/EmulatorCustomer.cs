namespace KavachPolar.Testing;

/// <summary>A customer known to the emulator.</summary>
/// <param name="Id">The customer id.</param>
/// <param name="Email">The email address.</param>
/// <param name="Name">The name, if any.</param>
/// <param name="ExternalId">The external id, if set.</param>
public sealed record EmulatorCustomer(string Id, string Email, string? Name, string? ExternalId);
