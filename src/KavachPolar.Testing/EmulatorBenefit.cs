namespace KavachPolar.Testing;

/// <summary>A benefit the running emulator offers.</summary>
/// <param name="Id">The benefit id.</param>
/// <param name="Type">Polar's benefit type, e.g. <c>license_keys</c>.</param>
/// <param name="Description">The description.</param>
public sealed record EmulatorBenefit(string Id, string Type, string Description);
