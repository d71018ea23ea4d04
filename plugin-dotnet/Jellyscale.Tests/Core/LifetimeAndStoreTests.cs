using System;
using System.IO;
using System.Linq;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Core.Output;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Core;

public class LifetimeAndStoreTests
{
    private const string Job = "0123456789abcdef0123456789abcdef";

    [Fact]
    public void Pings_keep_a_job_hot_and_silence_for_the_timeout_makes_it_idle()
    {
        var clock = new ManualClock();
        var lifetime = new PlaybackLifetime(clock, TimeSpan.FromSeconds(60));
        lifetime.Attach("ps1", Job);
        clock.Advance(TimeSpan.FromSeconds(50));
        lifetime.Ping("ps1");
        clock.Advance(TimeSpan.FromSeconds(50));
        Assert.True(lifetime.IsHot(Job));
        Assert.Empty(lifetime.TakeIdleJobs());
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.False(lifetime.IsHot(Job));
        Assert.Equal(new[] { Job }, lifetime.TakeIdleJobs());
        Assert.Empty(lifetime.TakeIdleJobs());
    }

    [Fact]
    public void Segment_requests_count_as_signs_of_life()
    {
        var clock = new ManualClock();
        var lifetime = new PlaybackLifetime(clock, TimeSpan.FromSeconds(60));
        lifetime.Attach(null, Job);
        clock.Advance(TimeSpan.FromSeconds(59));
        lifetime.Touch(Job);
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Empty(lifetime.TakeIdleJobs());
    }

    [Fact]
    public void Stop_makes_the_job_idle_only_after_its_last_session_stops()
    {
        var lifetime = new PlaybackLifetime(new ManualClock(), TimeSpan.FromSeconds(60));
        lifetime.Attach("a", Job);
        lifetime.Attach("b", Job);
        lifetime.Stop("a");
        Assert.Empty(lifetime.TakeIdleJobs());
        lifetime.Stop("b");
        Assert.Equal(new[] { Job }, lifetime.TakeIdleJobs());
    }

    [Fact]
    public void Pings_for_unknown_sessions_change_nothing()
    {
        var lifetime = new PlaybackLifetime(new ManualClock(), TimeSpan.FromSeconds(60));
        lifetime.Ping("nobody");
        lifetime.Stop("nobody");
        Assert.False(lifetime.HasJobs);
    }

    [Fact]
    public void Version_name_sits_beside_the_original_with_the_final_extension()
    {
        Assert.Equal("/m/Movie (2020)/Movie (2020) - Upscaled 2160p.mkv", UpscaledVersion.PathFor("/m/Movie (2020)/Movie (2020).mp4", 2160, "/cache/x.mkv"));
        Assert.True(UpscaledVersion.IsVersionOf("/m/Movie (2020)/Movie (2020) - Upscaled 2160p.mkv", "/m/Movie (2020)/Movie (2020).mp4"));
        Assert.False(UpscaledVersion.IsVersionOf("/elsewhere/Movie (2020) - Upscaled 2160p.mkv", "/m/Movie (2020)/Movie (2020).mp4"));
        Assert.False(UpscaledVersion.IsVersionOf("/m/Movie (2020)/Movie (2020) - Upscaled big.mkv", "/m/Movie (2020)/Movie (2020).mp4"));
    }

    [Fact]
    public void Publishing_a_version_copies_once_and_leaves_no_temp_file()
    {
        using var dir = new TempDir();
        var final = Path.Combine(dir.Path, "final.mkv");
        File.WriteAllText(final, "upscaled");
        var version = UpscaledVersion.PathFor(Path.Combine(dir.Path, "Film.mp4"), 1440, final);
        Assert.True(UpscaledVersion.Publish(final, version));
        Assert.False(UpscaledVersion.Publish(final, version));
        Assert.Equal("upscaled", File.ReadAllText(version));
        Assert.Equal(2, Directory.GetFiles(dir.Path, "*", SearchOption.TopDirectoryOnly).Length);
    }

    [Theory]
    [InlineData("", "nvenc", "nvenc")]
    [InlineData("", "vaapi", "vaapi")]
    [InlineData("", "qsv", "qsv")]
    [InlineData("", "none", "cpu")]
    [InlineData("", "videotoolbox", "cpu")]
    [InlineData(null, null, "cpu")]
    [InlineData("auto", "nvenc", "auto")]
    [InlineData("CPU", "nvenc", "cpu")]
    [InlineData("bogus", "vaapi", "vaapi")]
    public void Backend_follows_jellyfin_unless_the_admin_chose_one(string? configured, string? jellyfin, string expected)
        => Assert.Equal(expected, Backends.Choose(configured, jellyfin));

    [Fact]
    public void Engine_provider_remembers_a_failure_then_retries_after_the_interval()
    {
        var clock = new ManualClock();
        var calls = 0;
        using var provider = new LazyEngineProvider(
            () => ++calls == 1 ? throw new DllNotFoundException("missing") : new FakeEngine(),
            clock);
        Assert.Throws<DllNotFoundException>(() => provider.Engine);
        Assert.Throws<InvalidOperationException>(() => provider.Engine);
        Assert.Equal(1, calls);
        clock.Advance(LazyEngineProvider.RetryAfter);
        Assert.IsType<FakeEngine>(provider.Engine);
        Assert.Same(provider.Engine, provider.Engine);
        Assert.Equal(2, calls);
    }
}
