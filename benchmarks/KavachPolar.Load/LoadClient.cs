using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Load;

/// <summary>Sends signed Polar deliveries or subscription reads at a fixed concurrency and reports throughput and latency.</summary>
internal static class LoadClient
{
    public static async Task<int> WebhooksAsync(Arguments args)
    {
        var url = new Uri(args.Get("url", "http://127.0.0.1:5095"));
        var events = args.Int("events", 20000);
        var concurrency = args.Int("concurrency", 64);
        var users = args.Int("users", 2000);
        // --first-round R: start at snapshot R of every user, so that a second run against the same database changes
        // every user again instead of sending stale snapshots.
        var firstRound = args.Int("first-round", 0);
        var template = await LoadTemplateAsync();
        var signer = new PolarWebhookSigner(LoadServer.Secret);
        var start = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

        // Each user has one subscription; event i is the (i / users)-th snapshot of user (i % users),
        // so every delivery is a newer snapshot that changes the row (status flips active/past_due).
        // Bodies are built and signed as they are sent, so a soak of any length holds none in memory and every
        // webhook-timestamp is current.
        byte[] Body(int i)
        {
            var user = i % users;
            var round = i / users + firstRound;
            var body = template.DeepClone().AsObject();
            var data = body["data"]!.AsObject();
            body["type"] = round == 0 ? "subscription.created" : "subscription.updated";
            body["timestamp"] = Format(start.AddSeconds(i));
            data["id"] = SubscriptionId(user);
            data["status"] = round % 2 == 0 ? "active" : "past_due";
            data["created_at"] = Format(start);
            data["modified_at"] = round == 0 ? null : Format(start.AddMinutes(round));
            data["customer_id"] = CustomerId(user);
            data["customer"]!["id"] = CustomerId(user);
            data["customer"]!["external_id"] = $"load-user-{user}";
            return Encoding.UTF8.GetBytes(body.ToJsonString());
        }

        using var http = Client(url, concurrency);
        var webhook = new Uri(url, args.Get("path", "api/kavach/auth/polar/webhook"));

        // --sample N: the server's memory every N seconds while the run goes (a soak: flat means flat).
        using var sampling = new CancellationTokenSource();
        var sampleEvery = args.Int("sample", 0);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        var sampler = sampleEvery <= 0 ? Task.CompletedTask : Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(sampleEvery), sampling.Token);
                    Console.WriteLine($"  t={clock.Elapsed.TotalSeconds:F0}s sent={Volatile.Read(ref sent)} " + await http.GetStringAsync(new Uri(url, "_load/stats"), sampling.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var result = await RunAsync(events, concurrency, async i =>
        {
            using var request = signer.CreateRequest(webhook, Body(i), Guid.NewGuid().ToString());
            using var response = await http.SendAsync(request);
            Interlocked.Increment(ref sent);
            return (int)response.StatusCode;
        });
        await sampling.CancelAsync();
        await sampler;
        result.Print($"webhooks: {events} signed deliveries, {users} users, concurrency {concurrency}, body ~{Body(0).Length} B");
        await PrintStatsAsync(http, url);
        return result.Errors == 0 ? 0 : 1;
    }

    public static async Task<int> GetAsync(Arguments args)
    {
        var url = new Uri(args.Get("url", "http://127.0.0.1:5095"));
        var requests = args.Int("requests", 200000);
        var concurrency = args.Int("concurrency", 64);
        var users = args.Int("users", 2000);
        using var http = Client(url, concurrency);
        var route = new Uri(url, "api/kavach/auth/polar/subscription");
        var result = await RunAsync(requests, concurrency, async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, route);
            request.Headers.Add("X-User", "load-user-" + (i % users).ToString(CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request);
            await response.Content.CopyToAsync(Stream.Null);
            return (int)response.StatusCode;
        });
        result.Print($"GET subscription: {requests} requests, {users} users, concurrency {concurrency}");
        await PrintStatsAsync(http, url);
        return result.Errors == 0 ? 0 : 1;
    }

    private static HttpClient Client(Uri url, int concurrency) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<Result> RunAsync(int count, int concurrency, Func<int, Task<int>> send)
    {
        var latencies = new double[count];
        var statuses = new int[count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var t = Stopwatch.GetTimestamp();
                try
                {
                    statuses[i] = await send(i);
                }
                catch (HttpRequestException)
                {
                    statuses[i] = -1;
                }
                catch (TaskCanceledException)
                {
                    statuses[i] = -2;
                }

                latencies[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            }
        });
        await Task.WhenAll(workers);
        clock.Stop();
        Array.Sort(latencies);
        return new Result(count, clock.Elapsed, latencies, statuses.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count()));
    }

    private static async Task PrintStatsAsync(HttpClient http, Uri url)
    {
        try
        {
            Console.WriteLine("server: " + await http.GetStringAsync(new Uri(url, "_load/stats")));
        }
        catch (HttpRequestException e)
        {
            Console.WriteLine("server stats unavailable: " + e.Message);
        }
    }

    internal static async Task<JsonObject> LoadTemplateAsync()
    {
        await using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("subscription.created.json")!;
        return (await JsonNode.ParseAsync(stream))!.AsObject();
    }

    internal static string SubscriptionId(int user) => new Guid(user, 0x5c3d, 0x4e4f, 0x9a, 0x51, 0x62, 0x73, 0x84, 0x95, 0xa6, 0xb7).ToString();

    internal static string CustomerId(int user) => new Guid(user, 0x4b2c, 0x4d3e, 0x8f, 0x40, 0x51, 0x62, 0x73, 0x84, 0x95, 0xa6).ToString();

    internal static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private sealed record Result(int Count, TimeSpan Elapsed, double[] SortedLatencies, Dictionary<int, int> Statuses)
    {
        public int Errors => Statuses.Where(s => s.Key is < 200 or >= 300).Sum(s => s.Value);

        public void Print(string title)
        {
            double P(double q) => SortedLatencies[Math.Min(SortedLatencies.Length - 1, (int)(q * SortedLatencies.Length))];
            Console.WriteLine(title);
            Console.WriteLine($"  {Count / Elapsed.TotalSeconds:F0} requests/s over {Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"  latency ms: p50 {P(0.50):F2}  p90 {P(0.90):F2}  p99 {P(0.99):F2}  max {SortedLatencies[^1]:F2}");
            Console.WriteLine("  statuses: " + string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        }
    }
}
