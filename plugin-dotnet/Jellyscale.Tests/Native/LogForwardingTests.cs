using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Jellyscale.Tests.Native;

/// <summary>The library's log records reach the ILogger the plugin hands it (Jellyfin's, in the server).</summary>
[Collection(NativeCollection.Name)]
public sealed class LogForwardingTests
{
    private readonly MediaClips _clips;

    public LogForwardingTests(MediaClips clips)
    {
        _clips = clips;
    }

    [SkippableFact]
    public async Task Starting_ffmpeg_is_logged_through_the_ilogger()
    {
        var logger = new CapturingLogger();
        NativeLog.Logger = logger;
        try
        {
            using var engine = _clips.NewEngine("logs");
            var job = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2 });
            await engine.WaitSegmentAsync(job.JobId, 0, TimeSpan.FromSeconds(60), CancellationToken.None);
        }
        finally
        {
            NativeLog.Logger = null!;
        }

        Assert.Contains(logger.Records, r => r.Level == LogLevel.Information && r.Message.Contains("ffmpeg", StringComparison.Ordinal));
        Assert.All(logger.Records, r => Assert.StartsWith("[jellyscale", r.Message, StringComparison.Ordinal));
    }

    private sealed class CapturingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Records { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Records.Enqueue((logLevel, formatter(state, exception)));
    }
}
