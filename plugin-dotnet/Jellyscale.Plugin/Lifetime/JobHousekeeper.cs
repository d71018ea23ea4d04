using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Core.Output;
using Jellyscale.Plugin.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Plugin.Lifetime;

/// <summary>
/// Every few seconds: applies the idle policy to jobs nobody watches, and publishes finished files
/// beside their originals when the admin chose that. The C ABI has no priority control, so
/// "background" means the engine simply carries on under its own concurrency limit.
/// </summary>
public sealed partial class JobHousekeeper : BackgroundService
{
    private readonly IStreamEngineProvider _engines;
    private readonly PlaybackLifetime _lifetime;
    private readonly IPluginConfigurationAccessor _configuration;
    private readonly ILogger<JobHousekeeper> _logger;
    private readonly HashSet<string> _published = new(StringComparer.Ordinal);

    /// <summary>Initializes a new instance of the <see cref="JobHousekeeper"/> class.</summary>
    /// <param name="engines">The engine.</param>
    /// <param name="lifetime">The lifetime tracker.</param>
    /// <param name="configuration">The configuration.</param>
    /// <param name="logger">The logger.</param>
    public JobHousekeeper(IStreamEngineProvider engines, PlaybackLifetime lifetime, IPluginConfigurationAccessor configuration, ILogger<JobHousekeeper> logger)
    {
        _engines = engines;
        _lifetime = lifetime;
        _configuration = configuration;
        _logger = logger;
    }

    /// <summary>One pass: idle jobs, then finished files.</summary>
    /// <param name="engine">The engine.</param>
    public void RunOnce(IStreamEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var config = _configuration.Current;
        foreach (var jobId in _lifetime.TakeIdleJobs())
        {
            try
            {
                if (config.AfterViewerLeaves != IdlePolicy.Stop)
                {
                    LogBackground(jobId);
                }
                else if (engine.GetStatus(jobId).IsActive)
                {
                    engine.Cancel(jobId);
                    LogStopped(jobId);
                }
                else
                {
                    // Finished (or failed) before the viewer left: nothing to stop, nothing runs on.
                    LogAlreadyEnded(jobId);
                }
            }
            catch (JellyscaleException e)
            {
                // The job may have finished or been removed meanwhile; the others still get their turn.
                LogJobFailed(jobId, e.Message);
            }
        }

        if (config.OutputLocation != OutputLocation.BesideOriginal)
        {
            return;
        }

        foreach (var job in engine.ListJobs())
        {
            if (job.State != JobState.Done || job.FinalPath is null || !_published.Add(job.JobId))
            {
                continue;
            }

            var version = UpscaledVersion.PathFor(job.Input, job.Height, job.FinalPath);
            if (UpscaledVersion.Publish(job.FinalPath, version))
            {
                LogPublished(version);
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // Never create the engine just to look after it.
            if (!_lifetime.HasJobs && _configuration.Current.OutputLocation != OutputLocation.BesideOriginal)
            {
                continue;
            }

            try
            {
                RunOnce(_engines.Engine);
            }
#pragma warning disable CA1031 // Housekeeping retries on the next tick.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogFailed(e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale: job {JobId} has no viewer; stopped")]
    private partial void LogStopped(string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale: job {JobId} has no viewer; it finishes in the background")]
    private partial void LogBackground(string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Jellyscale: job {JobId} has no viewer; it had already ended")]
    private partial void LogAlreadyEnded(string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale: saved {Path} as a version beside the original")]
    private partial void LogPublished(string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Jellyscale: idle job {JobId}: {Reason}")]
    private partial void LogJobFailed(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jellyscale housekeeping failed")]
    private partial void LogFailed(Exception error);
}
