using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Playback;
using Jellyscale.Plugin.Compat;
using Jellyscale.Plugin.Configuration;
using MediaBrowser.Controller.Library;
using MediaBrowser.Model.Tasks;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Plugin.Tasks;

/// <summary>Scheduled task: upscales every video of the chosen libraries ahead of time (H.264, which every client plays).</summary>
public sealed partial class PreUpscaleTask : IScheduledTask
{
    private static readonly HashSet<string> VideoExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".mkv", ".mp4", ".m4v", ".avi", ".mov", ".ts", ".m2ts", ".webm", ".wmv", ".mpg", ".mpeg",
    };

    private readonly ILibraryManager _libraries;
    private readonly IStreamEngineProvider _engines;
    private readonly IPluginConfigurationAccessor _configuration;
    private readonly ILogger<PreUpscaleTask> _logger;

    /// <summary>Initializes a new instance of the <see cref="PreUpscaleTask"/> class.</summary>
    /// <param name="libraries">Jellyfin's library manager.</param>
    /// <param name="engines">The engine.</param>
    /// <param name="configuration">The configuration.</param>
    /// <param name="logger">The logger.</param>
    public PreUpscaleTask(ILibraryManager libraries, IStreamEngineProvider engines, IPluginConfigurationAccessor configuration, ILogger<PreUpscaleTask> logger)
    {
        _libraries = libraries;
        _engines = engines;
        _configuration = configuration;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name => "Pre-upscale chosen libraries";

    /// <inheritdoc />
    public string Key => "JellyscalePreUpscale";

    /// <inheritdoc />
    public string Description => "Upscales the videos of the libraries chosen on the Jellyscale page, one job at a time.";

    /// <inheritdoc />
    public string Category => "Jellyscale";

    /// <inheritdoc />
    public async Task ExecuteAsync(IProgress<double> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var config = _configuration.Current;
        var chosen = new HashSet<string>(config.PreUpscaleLibraryIds, StringComparer.OrdinalIgnoreCase);
        var files = _libraries.GetVirtualFolders()
            .Where(f => f.ItemId is not null && chosen.Contains(f.ItemId))
            .SelectMany(f => f.Locations)
            .Where(Directory.Exists)
            .SelectMany(root => Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            .Where(path => VideoExtensions.Contains(Path.GetExtension(path)) && !Path.GetFileName(path).Contains(" - Upscaled ", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        var engine = _engines.Engine;
        for (var i = 0; i < files.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await UpscaleOne(engine, files[i], config.Target(), config.CopySourceAsFallback, cancellationToken);
            }
            catch (JellyscaleException e)
            {
                LogSkipped(files[i], e.Message);
            }

            progress.Report(100.0 * (i + 1) / files.Count);
        }
    }

    /// <inheritdoc />
    public IEnumerable<TaskTriggerInfo> GetDefaultTriggers() => Array.Empty<TaskTriggerInfo>();

    private static async Task UpscaleOne(IStreamEngine engine, string path, UpscaleTarget target, bool copySource, CancellationToken cancellationToken)
    {
        // The same request as a playback's (a copying fallback cuts other segments: another job).
        var job = engine.StartStream(new StreamRequest
        {
            Input = path,
            Codec = OutputFormat.H264.Codec,
            Scale = target.Mode == TargetMode.Scale ? target.ScaleFactor : null,
            MaxHeight = target.MaxHeight,
            CopyFallback = copySource,
        });

        // Already as big as the target: nothing to gain.
        if (job.IsActive && job.Height <= job.SourceHeight)
        {
            engine.Cancel(job.JobId);
            return;
        }

        while (job.IsActive)
        {
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            job = engine.GetStatus(job.JobId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jellyscale pre-upscale skipped {Path}: {Reason}")]
    private partial void LogSkipped(string path, string reason);
}
