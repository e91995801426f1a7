using System.Diagnostics;
using Npgsql;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// The throwaway PostgreSQL cluster that <c>scripts/test.sh</c> starts for outage tests, which may
/// stop and restart it (never the normal one). Without its variables a test fails loudly: it never skips.
/// </summary>
public sealed class ChaosPostgres
{
    public const string ConnectionVariable = "KAVACH_TEST_PG_CHAOS";
    public const string PgCtlVariable = "KAVACH_TEST_PG_CTL";
    public const string DataVariable = "KAVACH_TEST_PG_CHAOS_DATA";
    public const string LogVariable = "KAVACH_TEST_PG_CHAOS_LOG";

    private static readonly Lazy<bool> IsRoot = new(() => Run("id", ["-u"], CancellationToken.None).GetAwaiter().GetResult().Output.Trim() == "0");

    private int _stops;

    private ChaosPostgres(string serverConnectionString, string pgCtl, string dataDirectory, string logFile)
    {
        ServerConnectionString = serverConnectionString;
        PgCtl = pgCtl;
        DataDirectory = dataDirectory;
        LogFile = logFile;
    }

    public string ServerConnectionString { get; }

    public string PgCtl { get; }

    public string DataDirectory { get; }

    public string LogFile { get; }

    /// <summary>How many times this instance stopped the cluster.</summary>
    public int Stops => _stops;

    public static ChaosPostgres FromEnvironmentOrFail()
    {
        var missing = new[] { ConnectionVariable, PgCtlVariable, DataVariable, LogVariable }
            .Where(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)))
            .ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"{string.Join(", ", missing)} not set. Outage and convergence tests need a second PostgreSQL cluster they may stop: run them with scripts/test.sh.");
        }

        var chaos = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable(ConnectionVariable));
        var normal = new NpgsqlConnectionStringBuilder(PostgresDatabase.ServerConnectionStringOrFail());
        if (string.Equals(chaos.Host, normal.Host, StringComparison.OrdinalIgnoreCase) && chaos.Port == normal.Port)
        {
            throw new InvalidOperationException($"{ConnectionVariable} points at the same server as {PostgresDatabase.EnvironmentVariable}; outage tests must never stop the shared server.");
        }

        return new ChaosPostgres(
            chaos.ConnectionString,
            Environment.GetEnvironmentVariable(PgCtlVariable)!,
            Environment.GetEnvironmentVariable(DataVariable)!,
            Environment.GetEnvironmentVariable(LogVariable)!);
    }

    /// <summary>A fresh database on the chaos cluster, which is started first if a previous test left it stopped.</summary>
    public async Task<PostgresDatabase> CreateDatabaseAsync(CancellationToken ct)
    {
        await EnsureRunningAsync(ct);
        return await PostgresDatabase.CreateAsync(ServerConnectionString, ct);
    }

    public async Task<bool> IsRunningAsync(CancellationToken ct)
    {
        // pg_ctl status: 0 running, 3 not running.
        var result = await PgCtlAsync(["status", "-D", DataDirectory], ct);
        return result.ExitCode == 0;
    }

    public async Task EnsureRunningAsync(CancellationToken ct)
    {
        if (!await IsRunningAsync(ct))
        {
            await StartAsync(ct);
        }
    }

    /// <summary>Stops the cluster the way an operator's restart or a crash-free failover does: open connections are cut.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        var result = await PgCtlAsync(["stop", "-D", DataDirectory, "-m", "fast", "-w"], ct);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_ctl stop failed ({result.ExitCode}): {result.Output}");
        }

        Interlocked.Increment(ref _stops);
    }

    public async Task StartAsync(CancellationToken ct)
    {
        var result = await PgCtlAsync(["start", "-D", DataDirectory, "-l", LogFile, "-w"], ct);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_ctl start failed ({result.ExitCode}): {result.Output}");
        }
    }

    /// <summary>
    /// Stops every process of the cluster with SIGSTOP: sockets stay open and nothing answers, not even a cancel
    /// request (a hung server, a VM paused by its host). Always <see cref="ThawAsync"/> afterwards.
    /// </summary>
    public Task FreezeAsync(CancellationToken ct) => SignalAllAsync("-STOP", ct);

    /// <summary>Resumes the processes <see cref="FreezeAsync"/> stopped.</summary>
    public Task ThawAsync(CancellationToken ct) => SignalAllAsync("-CONT", ct);

    private async Task SignalAllAsync(string signal, CancellationToken ct)
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
        var pids = new List<int> { postmaster };
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var parent = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
                    if (parent is not null && int.Parse(parent["PPid:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture) == postmaster)
                    {
                        pids.Add(pid);
                    }
                }
                catch (IOException)
                {
                    // The process ended meanwhile.
                }
            }
        }

        var result = await Run("kill", [signal, .. pids.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))], ct);
        // A backend may exit between the scan and the signal: that one needs no signal.
        if (result.ExitCode != 0 && !result.Output.Split('\n').Where(l => l.Length > 0).All(l => l.Contains("No such process", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"kill {signal} failed ({result.ExitCode}): {result.Output}");
        }
    }

    private Task<(int ExitCode, string Output)> PgCtlAsync(string[] args, CancellationToken ct) =>
        IsRoot.Value ? Run("runuser", ["-u", "postgres", "--", PgCtl, .. args], ct) : Run(PgCtl, args, ct);

    private static async Task<(int ExitCode, string Output)> Run(string file, string[] args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout + await stderr);
    }
}
