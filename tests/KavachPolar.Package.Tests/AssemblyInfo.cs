// Both packages are packed once for the whole assembly.
[assembly: AssemblyFixture(typeof(KavachPolar.Package.Tests.PackedPackages))]
