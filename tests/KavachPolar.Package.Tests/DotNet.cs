using System.Diagnostics;
using System.Text;

namespace KavachPolar.Package.Tests;

/// <summary>Runs the <c>dotnet</c> CLI as a user would, with a time limit, and captures its output.</summary>
public static class DotNet
{
    public static async Task<ProcessResult> RunAsync(string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        start.Environment["DOTNET_GENERATE_ASPNET_CERTIFICATE"] = "false";
        // No compiler server or MSBuild nodes left running after the test.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        var stopwatch = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"`dotnet {string.Join(' ', arguments)}` took more than {timeout}:\n{Text(output)}");
        }

        // WaitForExitAsync returns once the output streams are drained too.
        return new ProcessResult(process.ExitCode, Text(output), stopwatch.Elapsed, "dotnet " + string.Join(' ', arguments));
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}

/// <summary>What a <c>dotnet</c> command did.</summary>
public sealed record ProcessResult(int ExitCode, string Output, TimeSpan Elapsed, string Command)
{
    /// <summary>Fails the test with the command's output unless it exited with 0.</summary>
    public ProcessResult EnsureSuccess()
    {
        Assert.True(ExitCode == 0, $"`{Command}` exited with {ExitCode}:\n{Output}");
        return this;
    }
}
