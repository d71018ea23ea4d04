using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Cleanup;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Compat;
using Jellyscale.Plugin.Configuration;
using Jellyscale.Plugin.Engine;
using MediaBrowser.Common.Configuration;
using MediaBrowser.Model.Tasks;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Plugin.Tasks;

/// <summary>Scheduled task: removes stored upscales by age and total size, never those of running jobs.</summary>
public sealed partial class CleanupTask : IScheduledTask
{
    private readonly IStreamEngineProvider _engines;
    private readonly IPluginConfigurationAccessor _configuration;
    private readonly IApplicationPaths _paths;
    private readonly ILogger<CleanupTask> _logger;

    /// <summary>Initializes a new instance of the <see cref="CleanupTask"/> class.</summary>
    /// <param name="engines">The engine.</param>
    /// <param name="configuration">The configuration.</param>
    /// <param name="paths">Jellyfin's paths.</param>
    /// <param name="logger">The logger.</param>
    public CleanupTask(IStreamEngineProvider engines, IPluginConfigurationAccessor configuration, IApplicationPaths paths, ILogger<CleanupTask> logger)
    {
        _engines = engines;
        _configuration = configuration;
        _paths = paths;
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
        var jobs = _engines.Engine.ListJobs();
        var active = jobs.Where(j => j.IsActive).ToList();
        var settings = EngineSettings.Build(config, new JellyfinDefaults(_paths.DataPath, _paths.CachePath, null, null, null, null));
        var deleted = StoreCleaner.Run(
            settings.OutputDir,
            settings.CacheDir,
            active.Select(j => j.JobId).ToList(),
            active.Where(j => j.FinalPath is not null).Select(j => j.FinalPath!).ToList(),
            DateTimeOffset.UtcNow,
            TimeSpan.FromDays(Math.Max(0, config.CleanupMaxAgeDays)),
            Math.Max(0, config.CleanupMaxSizeGb) * 1024L * 1024L * 1024L);
        LogDeleted(deleted.Count);
        progress.Report(100);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public IEnumerable<TaskTriggerInfo> GetDefaultTriggers()
        => new[] { TaskTriggers.Daily(TimeSpan.FromHours(4)) };

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale cleanup removed {Count} entries")]
    private partial void LogDeleted(int count);
}
