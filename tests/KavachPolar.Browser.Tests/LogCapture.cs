using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Browser.Tests;

/// <summary>Keeps every log record of the sample as <c>{level} {category}[{event id}] {message}</c>.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Line)> _records = new();

    public IReadOnlyList<(LogLevel Level, int EventId, string Line)> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._records.Enqueue((logLevel, eventId.Id, $"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)}"));
            }
        }
    }
}
