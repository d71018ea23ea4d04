using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Plugin.Configuration;
using Jellyscale.Plugin.Engine;
using Jellyscale.Plugin.Lifetime;
using Jellyscale.Plugin.Tasks;
using Jellyscale.Tests.Support;
using MediaBrowser.Model.Entities;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Jellyscale.Tests.Plugin;

/// <summary>The Jellyfin-facing pieces that run outside a request: plugin pages, settings, housekeeping, session events, tasks.</summary>
public sealed class PluginPiecesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Plugin_pages_point_at_embedded_resources_and_the_page_loads_its_own_script()
    {
        var plugin = new Jellyscale.Plugin.Plugin(new FakeApplicationPaths(_dir.Path), new FakeXmlSerializer());
        var assembly = typeof(Jellyscale.Plugin.Plugin).Assembly;
        var pages = plugin.GetPages().ToList();
        Assert.Equal("Jellyscale", plugin.Name);
        Assert.Same(plugin, Jellyscale.Plugin.Plugin.Instance);
        Assert.All(pages, p => Assert.NotNull(assembly.GetManifestResourceStream(p.EmbeddedResourcePath)));

        using var html = new StreamReader(assembly.GetManifestResourceStream(pages.Single(p => p.EmbeddedResourcePath.EndsWith(".html", StringComparison.Ordinal)).EmbeddedResourcePath)!);
        var script = pages.Single(p => p.EmbeddedResourcePath.EndsWith(".js", StringComparison.Ordinal));
        Assert.Contains($"data-controller=\"__plugin/{script.Name}\"", html.ReadToEnd(), StringComparison.Ordinal);

        using var js = new StreamReader(assembly.GetManifestResourceStream(script.EmbeddedResourcePath)!);
        Assert.Contains(plugin.Id.ToString(), js.ReadToEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void Engine_settings_default_to_jellyfin_folders_ffmpeg_and_hardware_acceleration()
    {
        var jellyfin = new JellyfinDefaults("/var/lib/jellyfin/data", "/var/cache/jellyfin", "/usr/lib/jellyfin-ffmpeg/ffmpeg", "/usr/lib/jellyfin-ffmpeg/ffprobe", "vaapi", "/dev/dri/renderD128");
        var config = EngineSettings.Build(new PluginConfiguration(), jellyfin);
        Assert.Equal("/var/cache/jellyfin/jellyscale", config.CacheDir);
        Assert.Equal("/var/lib/jellyfin/data/jellyscale/upscaled", config.OutputDir);
        Assert.Equal("/usr/lib/jellyfin-ffmpeg/ffmpeg", config.FfmpegPath);
        Assert.Equal("/usr/lib/jellyfin-ffmpeg/ffprobe", config.FfprobePath);
        Assert.Equal("vaapi", config.Backend);
        Assert.Equal("/dev/dri/renderD128", config.VaapiDevice);
        Assert.Equal(4, config.SegmentSeconds);
        Assert.Equal(1, config.MaxConcurrentJobs);
    }

    [Fact]
    public void Engine_settings_take_the_admins_choices_and_clamp_nonsense()
    {
        var jellyfin = new JellyfinDefaults("/d", "/c", "/f", "/p", "nvenc", null);
        var config = EngineSettings.Build(
            new PluginConfiguration { FfmpegPath = "/usr/local/bin/rffmpeg", OutputDirectory = "/mnt/upscaled", Backend = "cpu", SegmentSeconds = 0, MaxConcurrentJobs = 500 },
            jellyfin);
        Assert.Equal("/usr/local/bin/rffmpeg", config.FfmpegPath);
        Assert.Equal("/mnt/upscaled", config.OutputDir);
        Assert.Equal("cpu", config.Backend);
        Assert.Equal(1, config.SegmentSeconds);
        Assert.Equal(16, config.MaxConcurrentJobs);
        Assert.Null(config.VaapiDevice);
    }

    [Theory]
    [InlineData(IdlePolicy.Stop, true)]
    [InlineData(IdlePolicy.FinishInBackground, false)]
    public void Housekeeper_applies_the_idle_policy_to_jobs_nobody_watches(IdlePolicy policy, bool cancelled)
    {
        var engine = new RecordingEngine();
        var clock = new ManualClock();
        var lifetime = new PlaybackLifetime(clock, TimeSpan.FromSeconds(60));
        var configuration = new TestConfigurationAccessor { Current = new PluginConfiguration { AfterViewerLeaves = policy } };
        var housekeeper = new JobHousekeeper(engine, lifetime, configuration, NullLogger<JobHousekeeper>.Instance);
        lifetime.Attach("ps", FakeEngine.JobId);

        housekeeper.RunOnce(engine);
        Assert.Empty(engine.Cancelled);

        clock.Advance(TimeSpan.FromSeconds(61));
        housekeeper.RunOnce(engine);
        Assert.Equal(cancelled, engine.Cancelled.Contains(FakeEngine.JobId));
    }

    [Fact]
    public void Housekeeper_carries_on_when_an_idle_job_has_vanished()
    {
        var engine = new RecordingEngine { MissingJobs = { FakeEngine.JobId } };
        var clock = new ManualClock();
        var lifetime = new PlaybackLifetime(clock, TimeSpan.FromSeconds(60));
        var configuration = new TestConfigurationAccessor { Current = new PluginConfiguration { AfterViewerLeaves = IdlePolicy.Stop } };
        var housekeeper = new JobHousekeeper(engine, lifetime, configuration, NullLogger<JobHousekeeper>.Instance);
        const string other = "abcdefabcdefabcdefabcdefabcdefab";
        lifetime.Attach("a", FakeEngine.JobId);
        lifetime.Attach("b", other);
        clock.Advance(TimeSpan.FromSeconds(61));

        housekeeper.RunOnce(engine);

        Assert.Equal(new[] { other }, engine.Cancelled);
    }

    [Fact]
    public void Housekeeper_with_the_stop_policy_never_says_a_job_finishes_in_the_background()
    {
        var engine = new RecordingEngine { StatusState = JobState.Done };
        var clock = new ManualClock();
        var lifetime = new PlaybackLifetime(clock, TimeSpan.FromSeconds(60));
        var configuration = new TestConfigurationAccessor { Current = new PluginConfiguration { AfterViewerLeaves = IdlePolicy.Stop } };
        var logger = new ListLogger<JobHousekeeper>();
        var housekeeper = new JobHousekeeper(engine, lifetime, configuration, logger);
        lifetime.Attach("a", FakeEngine.JobId);
        clock.Advance(TimeSpan.FromSeconds(61));

        housekeeper.RunOnce(engine);

        Assert.Empty(engine.Cancelled);
        var message = Assert.Single(logger.Messages);
        Assert.DoesNotContain("background", message, StringComparison.Ordinal);
        Assert.Contains("already ended", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Housekeeper_saves_a_finished_file_beside_the_original_once()
    {
        var original = Path.Combine(_dir.Path, "Film (2020).mkv");
        var final = Path.Combine(_dir.Path, "final.ts");
        File.WriteAllText(original, "original");
        File.WriteAllText(final, "upscaled");
        var engine = new RecordingEngine { Jobs = { FakeEngine.Running("h264") with { State = JobState.Done, Input = original, Height = 2160, FinalPath = final } } };
        var configuration = new TestConfigurationAccessor { Current = new PluginConfiguration { OutputLocation = OutputLocation.BesideOriginal } };
        var housekeeper = new JobHousekeeper(engine, new PlaybackLifetime(new ManualClock(), TimeSpan.FromSeconds(60)), configuration, NullLogger<JobHousekeeper>.Instance);

        housekeeper.RunOnce(engine);
        var version = Path.Combine(_dir.Path, "Film (2020) - Upscaled 2160p.ts");
        Assert.Equal("upscaled", File.ReadAllText(version));
        File.Delete(version);
        housekeeper.RunOnce(engine);
        Assert.False(File.Exists(version));
    }

    [Fact]
    public async Task Jellyfin_progress_and_stop_events_drive_the_job_lifetime()
    {
        var sessions = new FakeSessionManager();
        var clock = new ManualClock();
        var lifetime = new PlaybackLifetime(clock, TimeSpan.FromSeconds(60));
        var watcher = new PlaybackSessionWatcher(sessions, lifetime);
        await watcher.StartAsync(CancellationToken.None);
        lifetime.Attach("ps", FakeEngine.JobId);

        clock.Advance(TimeSpan.FromSeconds(50));
        sessions.Progress("ps");
        clock.Advance(TimeSpan.FromSeconds(50));
        Assert.True(lifetime.IsHot(FakeEngine.JobId));
        sessions.Stop("ps");
        Assert.False(lifetime.IsHot(FakeEngine.JobId));

        await watcher.StopAsync(CancellationToken.None);
        lifetime.Attach("ps2", FakeEngine.JobId);
        clock.Advance(TimeSpan.FromSeconds(61));
        sessions.Progress("ps2");
        Assert.False(lifetime.IsHot(FakeEngine.JobId));
    }

    [Fact]
    public async Task Pre_upscale_task_starts_every_video_of_the_chosen_libraries_only()
    {
        var movies = Directory.CreateDirectory(Path.Combine(_dir.Path, "movies")).FullName;
        var shows = Directory.CreateDirectory(Path.Combine(_dir.Path, "shows")).FullName;
        File.WriteAllText(Path.Combine(movies, "a.mkv"), string.Empty);
        Directory.CreateDirectory(Path.Combine(movies, "sub"));
        File.WriteAllText(Path.Combine(movies, "sub", "b.mp4"), string.Empty);
        File.WriteAllText(Path.Combine(movies, "sub", "b - Upscaled 2160p.mp4"), string.Empty);
        File.WriteAllText(Path.Combine(movies, "poster.jpg"), string.Empty);
        File.WriteAllText(Path.Combine(shows, "c.mkv"), string.Empty);
        var libraries = new FakeLibraryManager
        {
            Folders =
            {
                new VirtualFolderInfo { Name = "Movies", ItemId = "aaa", Locations = new[] { movies } },
                new VirtualFolderInfo { Name = "Shows", ItemId = "bbb", Locations = new[] { shows } },
            },
        };
        var engine = new RecordingEngine { StartState = JobState.Done };
        var configuration = new TestConfigurationAccessor { Current = new PluginConfiguration { PreUpscaleLibraryIds = new[] { "aaa" } } };
        var task = new PreUpscaleTask(libraries, engine, configuration, NullLogger<PreUpscaleTask>.Instance);
        var progress = new ConcurrentQueue<double>();

        await task.ExecuteAsync(new Progress<double>(progress.Enqueue), CancellationToken.None);

        Assert.Equal(
            new[] { Path.Combine(movies, "a.mkv"), Path.Combine(movies, "sub", "b.mp4") },
            engine.Started.Select(r => r.Input).Order(StringComparer.Ordinal));
        Assert.All(engine.Started, r => Assert.Equal("h264", r.Codec));
        Assert.Empty(task.GetDefaultTriggers());
    }

    [SkippableFact]
    public async Task Cleanup_task_has_the_engine_delete_stale_outputs_and_has_a_daily_trigger()
    {
        // The engine decides what goes (it knows its files and its jobs at work): a real one here.
        var config = MediaClips.Config(_dir.Path, 4);
        using var engine = JellyscaleEngine.Create(Prerequisites.NativeLibrary(), config);
        var output = Directory.CreateDirectory(config.OutputDir!).FullName;
        var stale = Path.Combine(output, "old.ts");
        var fresh = Path.Combine(output, "new.ts");
        File.WriteAllText(stale, "x");
        File.WriteAllText(fresh, "x");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-45));
        var task = new CleanupTask(new LazyEngineProvider(() => engine, TimeProvider.System), new TestConfigurationAccessor(), NullLogger<CleanupTask>.Instance);

        await task.ExecuteAsync(new Progress<double>(), CancellationToken.None);

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
        var trigger = Assert.Single(task.GetDefaultTriggers());
        Assert.Equal(TimeSpan.FromHours(4).Ticks, trigger.TimeOfDayTicks);
        Assert.Equal("DailyTrigger", trigger.Type.ToString());
    }

    /// <summary>An engine that records starts and cancels and reports the jobs it is given.</summary>
    private sealed class RecordingEngine : IStreamEngine, IStreamEngineProvider
    {
        public ConcurrentBag<string> Cancelled { get; } = new();

        public ConcurrentQueue<StreamRequest> Started { get; } = new();

        public System.Collections.Generic.List<JobStatus> Jobs { get; } = new();

        public JobState StartState { get; init; } = JobState.Running;

        public IStreamEngine Engine => this;

        public JobStatus StartStream(StreamRequest request)
        {
            Started.Enqueue(request);
            return FakeEngine.Running(request.Codec) with { State = StartState, Input = request.Input, SourceHeight = 1080 };
        }

        public System.Collections.Generic.HashSet<string> MissingJobs { get; } = new();

        public JobStatus GetStatus(string jobId) => MissingJobs.Contains(jobId)
            ? throw new JellyscaleException(Jellyscale.Core.Native.JellyscaleStatus.NotFound, "not_found", "gone")
            : FakeEngine.Running("h264") with { State = StatusState };

        public JobState StatusState { get; init; } = JobState.Running;

        public void Cancel(string jobId) => Cancelled.Add(jobId);

        public System.Collections.Generic.IReadOnlyList<JobStatus> ListJobs() => Jobs;

        public Task<StreamReply> RequestAsync(string jobId, string path, string? uriQuery, string? range, TimeSpan timeout, CancellationToken cancellationToken)
            => throw new NotSupportedException("the HLS controller is tested against the real engine");

        public CleanupResult Cleanup(CleanupOptions options) => new();


        public EngineInfo GetInfo() => Info;


        public EngineInfo Info { get; set; } = new() { Backend = "nvenc", Hardware = true, HevcHardware = true };
    }
}

/// <summary>A logger that keeps every formatted message.</summary>
internal sealed class ListLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Messages.Enqueue(formatter(state, exception));
}
