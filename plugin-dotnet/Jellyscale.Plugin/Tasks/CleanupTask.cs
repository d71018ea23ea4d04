using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Compat;
using Jellyscale.Plugin.Configuration;
using MediaBrowser.Model.Tasks;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Plugin.Tasks;

/// <summary>Scheduled task: removes stored upscales by age and total size, never those of running jobs.</summary>
public sealed partial class CleanupTask : IScheduledTask
{
    private readonly IStreamEngineProvider _engines;
    private readonly IPluginConfigurationAccessor _configuration;
    private readonly ILogger<CleanupTask> _logger;

    /// <summary>Initializes a new instance of the <see cref="CleanupTask"/> class.</summary>
    /// <param name="engines">The engine.</param>
    /// <param name="configuration">The configuration.</param>
    /// <param name="logger">The logger.</param>
    public CleanupTask(IStreamEngineProvider engines, IPluginConfigurationAccessor configuration, ILogger<CleanupTask> logger)
    {
        _engines = engines;
        _configuration = configuration;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "Clean up upscaled files";

    /// <inheritdoc />
    public string Key => "JellyscaleCleanup";

    /// <inheritdoc />
    public string Description => "Removes Jellyscale's stored upscales older than the configured age, then the oldest until the configured size fits.";

    /// <inheritdoc />
    public string Category => "Jellyscale";

    /// <inheritdoc />
    public Task ExecuteAsync(IProgress<double> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var config = _configuration.Current;

        // The engine knows which files belong to which job and which jobs are at work: it decides.
        var result = _engines.Engine.Cleanup(new CleanupOptions
        {
            MaxAgeDays = Math.Max(0, config.CleanupMaxAgeDays),
            MaxTotalBytes = Math.Max(0, config.CleanupMaxSizeGb) * 1024L * 1024L * 1024L,
        });
        LogDeleted(result.Deleted.Count, result.FreedBytes);
        progress.Report(100);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public IEnumerable<TaskTriggerInfo> GetDefaultTriggers()
        => new[] { TaskTriggers.Daily(TimeSpan.FromHours(4)) };

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale cleanup removed {Count} entries ({FreedBytes} bytes)")]
    private partial void LogDeleted(int count, long freedBytes);
}
