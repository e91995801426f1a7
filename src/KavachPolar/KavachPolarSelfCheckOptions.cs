namespace KavachPolar;

/// <summary>
/// The start-up self-check: once the app has started, KavachPolar asks Polar whether its configuration works (the token
/// and its environment, <see cref="KavachPolarOptions.OrganizationId"/>, the read scopes it needs, and a webhook
/// endpoint for this app that is enabled, sends the events KavachPolar handles and signs with a configured secret) and
/// logs each problem as one line with its own event id (1101–1110) and the fix. Configuration section
/// <c>KavachPolar:SelfCheck</c>.
/// </summary>
public sealed class KavachPolarSelfCheckOptions
{
    /// <summary>
    /// Whether the check runs. Default <see langword="true"/>. It sends a handful of GET requests to Polar (counted in
    /// <see cref="KavachPolarOptions.PolarRequestsPerMinute"/>) and never changes anything there. Key
    /// <c>KavachPolar:SelfCheck:Enabled</c>.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// When <see langword="true"/>, the check runs while the host starts instead of in the background, and an error it
    /// finds (a token Polar refuses, another organization, a missing read scope, no enabled endpoint for this app, a
    /// wrong secret) stops the start with an exception listing them. A Polar that cannot be reached does not stop it.
    /// Default <see langword="false"/>: log only, never delaying the start. Key <c>KavachPolar:SelfCheck:FailStartup</c>.
    /// </summary>
    public bool FailStartup { get; set; }
}
