namespace KavachPolar.Callbacks;

/// <summary>The handlers of one kind of change in this process (subscription changes; benefit changes later).</summary>
internal interface IChangeHandlers
{
    /// <summary>The kind, as <c>kavach_polar_handled_kinds</c> names it (see <see cref="CallbackKinds"/>).</summary>
    string Kind { get; }

    /// <summary>Whether this process has a handler of the kind.</summary>
    bool Any { get; }
}
