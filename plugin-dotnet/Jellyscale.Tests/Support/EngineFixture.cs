using System;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Xunit;

namespace Jellyscale.Tests.Support;

/// <summary>Tests that run ffmpeg share one collection so they never compete for the two cores.</summary>
[CollectionDefinition(Name)]
public sealed class NativeCollection : ICollectionFixture<MediaClips>
{
    public const string Name = "native engine";
}

/// <summary>Small test clips made once per run with ffmpeg's lavfi sources.</summary>
public sealed class MediaClips : IAsyncLifetime
{
    private readonly TempDir _dir = new();

    /// <summary>Gets a 20 s 320x180 H.264/AAC clip.</summary>
    public string ShortClip { get; private set; } = string.Empty;

    /// <summary>
    /// Gets a 60 s 640x360 H.264/AAC clip (its 2x upscale runs long enough to be watched while
    /// running), with a keyframe every 1.5 s: where it is asked for, the fallback is a copy of it.
    /// </summary>
    public string LongClip { get; private set; } = string.Empty;

    /// <summary>Gets a file that is not media.</summary>
    public string NotMedia { get; private set; } = string.Empty;

    public string Root => _dir.Path;

    public async Task InitializeAsync()
    {
        if (!File.Exists("/usr/bin/ffmpeg"))
        {
            return;
        }

        ShortClip = await Make("short.mp4", "320x180", 20);
        LongClip = await Make("long.mp4", "640x360", 60, "-force_key_frames", "expr:gte(t,n_forced*1.5)");
        NotMedia = Path.Combine(_dir.Path, "notes.mkv");
        await File.WriteAllTextAsync(NotMedia, "this is not a video");
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A fresh engine with its own cache and output folders under this run's temp folder.</summary>
    public JellyscaleEngine NewEngine(string name, int segmentSeconds = 4)
    {
        var library = Prerequisites.NativeLibrary();
        Prerequisites.Require(ShortClip.Length > 0, "ffmpeg is not installed");
        var root = Directory.CreateDirectory(Path.Combine(_dir.Path, name + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        return JellyscaleEngine.Create(library, Config(root, segmentSeconds));
    }

    public static EngineConfig Config(string root, int segmentSeconds) => new()
    {
        CacheDir = Path.Combine(root, "cache"),
        OutputDir = Path.Combine(root, "out"),
        FfmpegPath = "/usr/bin/ffmpeg",
        FfprobePath = "/usr/bin/ffprobe",
        Backend = "cpu",
        MaxConcurrentJobs = 1,
        SegmentSeconds = segmentSeconds,
    };

    private async Task<string> Make(string name, string size, int seconds, params string[] extra)
    {
        var path = Path.Combine(_dir.Path, name);
        string[] args =
        [
            "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size={size}:rate=24",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", seconds.ToString(CultureInfo.InvariantCulture),
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", .. extra, path,
        ];
        var (code, _, err) = await Prerequisites.RunAsync("/usr/bin/ffmpeg", TimeSpan.FromMinutes(2), args);
        if (code != 0)
        {
            throw new InvalidOperationException("ffmpeg could not make a test clip: " + err);
        }

        return path;
    }
}
