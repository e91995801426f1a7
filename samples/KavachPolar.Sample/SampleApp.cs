using KavachPolar;
using KavachPolar.Sample.Billing;
using KavachPolar.Sample.Data;
using KavachPolar.Sample.Hosting;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace KavachPolar.Sample;

/// <summary>
/// The whole sample's set-up, in the order an app would write it. <c>Program.cs</c> runs it; the browser tests
/// start it in-process with their own arguments.
/// </summary>
public static class SampleApp
{
    /// <summary>Builds the sample app from command-line arguments (plus appsettings and environment variables).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="configure">Runs on the builder just before it builds the app (a test adds its log capture).</param>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The application name finds the Razor pages even when a test process hosts the app.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(SampleApp).Assembly.GetName().Name });

        // Database:Provider "sqlite" (default) or "postgres", and ConnectionStrings:Kavach.
        var databaseProvider = SampleDatabase.Provider(builder.Configuration);
        var connectionString = SampleDatabase.ConnectionString(builder.Configuration, databaseProvider, builder.Environment.ContentRootPath);

        // Without a Polar access token the sample brings its own Polar: the emulator, in-process.
        var embeddedPolar = string.IsNullOrWhiteSpace(builder.Configuration["KavachPolar:AccessToken"])
            ? await EmbeddedPolar.StartAsync()
            : null;
        if (embeddedPolar is not null)
        {
            builder.Configuration.AddInMemoryCollection(embeddedPolar.Settings);
            builder.Services.AddSingleton(_ => embeddedPolar);
            // Product ids configured for a real Polar mean nothing to the emulator, which has its own demo products.
            builder.Services.PostConfigure<KavachPolarOptions>(o => o.Products.Clear());
        }

        builder.Services.AddDbContext<SampleDbContext>(o => SampleDatabase.Configure(o, databaseProvider, connectionString));
        builder.Services.AddSingleton(new SampleSettings(embeddedPolar is not null, databaseProvider, connectionString));

        // KavachPolar: options from the "KavachPolar" section, tables inside the sample's own DbContext.
        builder.Services.AddKavachPolar().AddEntityFrameworkStore<SampleDbContext>();
        builder.Services.AddSingleton<SubscriptionChangeRecorder>();
        builder.Services.AddOptions<KavachPolarOptions>()
            .Configure<SubscriptionChangeRecorder>((options, recorder) => options.OnSubscriptionChange = recorder.RecordAsync);

        builder.Services.AddHttpClient(ProductCatalog.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<ProductCatalog>();
        builder.Services.AddHostedService<SampleStartup>();

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.Cookie.Name = "kavach_sample";
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.LoginPath = "/signin";
                // A signed-in user without a subscription who opens the members page lands on pricing.
                o.AccessDeniedPath = "/pricing";
                o.SlidingExpiration = true;
            });
        builder.Services.AddAuthorization();
        builder.Services.AddRazorPages(o =>
        {
            o.Conventions.AuthorizePage("/Account");
            o.Conventions.AuthorizeFolder("/Billing");
            o.Conventions.AuthorizePage("/Members", KavachPolarPolicies.Subscribed);
        });

        configure?.Invoke(builder);
        var app = builder.Build();

        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error");
        }

        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "same-origin";
            return next(context);
        });
        // Browsers that ignore the page's icon link ask for /favicon.ico: answer with the same SVG.
        app.MapGet("/favicon.ico", (IWebHostEnvironment env) => Results.File(env.WebRootFileProvider.GetFileInfo("favicon.svg").CreateReadStream(), "image/svg+xml"));
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapKavachPolar();
        app.MapRazorPages();

        // An API for subscribers only: anonymous 401, signed in without a subscription 403 subscription_required.
        app.MapGet("/api/members/prompt", () => new { prompt = "Write the letter your future reader will open in ten years." })
            .RequireSubscription();

        return app;
    }
}
