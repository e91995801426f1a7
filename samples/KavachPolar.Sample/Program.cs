using KavachPolar.Sample;

// Everything is set up in SampleApp.cs: the database, KavachPolar, the local Polar emulator when no
// Polar access token is configured, sign-in and the pages.
var app = await SampleApp.BuildAsync(args);
await app.RunAsync();
