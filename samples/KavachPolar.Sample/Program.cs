var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/", () => "KavachPolar sample");
app.Run();
