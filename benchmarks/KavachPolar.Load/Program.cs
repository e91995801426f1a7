// Load runs against a real KavachPolar host on real PostgreSQL: the server and the client are
// separate processes so that the numbers are the server's. See docs/benchmarks.md.
//
//   dotnet run -c Release --project benchmarks/KavachPolar.Load -- serve --pg "<connection string>" [--urls http://127.0.0.1:5095]
//        [--polar <api base url> --token <access token> --secret <webhook secret>]   (users: headers X-User, X-Email)
//        [--pool]   AddDbContextPool instead of AddDbContext
//        [--callbacks false]   no OnSubscriptionChange (measures what the callback outbox and dispatcher cost)
//   dotnet run -c Release --project benchmarks/KavachPolar.Load -- webhooks --url http://127.0.0.1:5095 [--events 20000] [--concurrency 64] [--users 2000] [--sample 10]
//   dotnet run -c Release --project benchmarks/KavachPolar.Load -- get --url http://127.0.0.1:5095 [--requests 200000] [--concurrency 64] [--users 2000]
//
// The floor and the side-by-side comparison with wrk (benchmarks/run-load.sh runs all three):
//   dotnet run -c Release --project benchmarks/KavachPolar.Load -- floor --pg "<connection string>" [--urls http://127.0.0.1:5096]
//   dotnet run -c Release --project benchmarks/KavachPolar.Load -- compare --pg "<connection string>" [--kavach http://127.0.0.1:5095]
//        [--floor http://127.0.0.1:5096] [--duration 15] [--warmup 3] [--rounds 2] [--connections 32] [--threads 2] [--users 10000] [--wrk wrk]
using KavachPolar.Load;

var command = args.FirstOrDefault();
var options = Arguments.Parse(args.Skip(1));
return command switch
{
    "serve" => await LoadServer.RunAsync(options),
    "webhooks" => await LoadClient.WebhooksAsync(options),
    "get" => await LoadClient.GetAsync(options),
    "floor" => await FloorServer.RunAsync(options),
    "compare" => await WrkComparison.RunAsync(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: serve --pg <connection string> [--urls URL] [--polar URL --token T --secret S] | webhooks --url URL [--events N] [--concurrency C] [--users U] | get --url URL [--requests N] [--concurrency C] [--users U] | floor --pg <connection string> [--urls URL] | compare --pg <connection string> [--kavach URL] [--floor URL] [--duration S] [--warmup S] [--rounds R] [--connections C] [--threads T] [--users U] [--wrk PATH]");
    return 2;
}
