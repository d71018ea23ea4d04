using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Jellyscale.Tests.Web;

/// <summary>hls.js in Debian's headless Chromium plays the stream the plugin serves while the job runs.</summary>
[Collection(NativeCollection.Name)]
public sealed class BrowserPlaybackTests
{
    private readonly MediaClips _clips;

    public BrowserPlaybackTests(MediaClips clips)
    {
        _clips = clips;
    }

    [SkippableFact]
    public async Task Chromium_with_hlsjs_plays_past_10_seconds_while_the_job_is_running()
    {
        var (code, stdout, stderr) = await Play("browser", "10", string.Empty, string.Empty);
        Assert.True(code == 0, $"player failed: {stdout} {stderr}");

        using var result = JsonDocument.Parse(stdout.Trim());
        Assert.True(result.RootElement.GetProperty("currentTime").GetDouble() > 10);
        Assert.Equal(720, result.RootElement.GetProperty("height").GetInt32());
        Assert.Equal(3, result.RootElement.GetProperty("levels").GetInt32());
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Chromium_with_hlsjs_switches_between_the_upscaled_and_cheaper_variants_without_an_error(bool copySource)
    {
        // Both heights must be shown: the page makes hls.js change variant every 3 s. With
        // copySource the 360p variant is the source itself, copied.
        var (code, stdout, stderr) = await Play("switching", "14", "&switchEvery=3", "720,360", copySource);
        Assert.True(code == 0, $"player failed: {stdout} {stderr}");

        using var result = JsonDocument.Parse(stdout.Trim());
        var root = result.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("fatal").ValueKind);
        // The heights of frames presented, not hls.js's LEVEL_SWITCHED events: on a busy machine
        // hls.js may never report the first variant as switched to while showing its frames.
        var shown = root.GetProperty("videoHeights").EnumerateArray().Select(h => h.GetInt32()).ToList();
        Assert.True(shown.Contains(360) && shown.Contains(720), $"frames shown at heights {string.Join(",", shown)}; hls.js switched to {root.GetProperty("switchedTo")}");
        // Variants that do not fit one SourceBuffer fail to append (codec or init mismatch). hls.js
        // also reports non-fatal housekeeping (aborted loads at a switch, a nudge over a tiny
        // hole), which playback survives.
        var errors = root.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.DoesNotContain(errors, e => e.Contains("Append", StringComparison.OrdinalIgnoreCase) || e.Contains("Codec", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Plays the job the plugin starts for the long clip in headless Chromium with hls.js.</summary>
    private async Task<(int Code, string Stdout, string Stderr)> Play(string name, string seconds, string pageQuery, string heights, bool copySource = false)
    {
        Prerequisites.NativeLibrary();
        Prerequisites.Ffmpeg();
        Prerequisites.Tool(Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium");
        var browserTest = Path.Combine(Prerequisites.PluginDir, "browser-test");
        var hlsJs = Path.Combine(browserTest, "node_modules", "hls.js", "dist", "hls.min.js");
        Prerequisites.Require(File.Exists(hlsJs), "browser-test/node_modules is missing (run npm ci in plugin-dotnet/browser-test)");
        var node = Prerequisites.Tool("/usr/bin/node");

        await using var host = await RealEngineHost.StartAsync(_clips, _clips.LongClip, name, app =>
        {
            app.MapGet("/player.html", () => Results.File(Path.Combine(browserTest, "player.html"), "text/html"));
            app.MapGet("/hls.js", () => Results.File(hlsJs, "text/javascript"));
        });
        host.Configuration.Current.CopySourceAsFallback = copySource;
        var url = await host.PlaybackUrlAsync();
        var status = host.Engine.GetStatus(RealEngineHost.JobIdOf(url));
        Assert.True(status.IsActive && status.Progress < 1, $"job should be encoding when the player starts, was {status.State} at {status.Progress:P0}");
        Assert.Equal([JobRole.Lower, JobRole.Fallback], status.Rungs.Select(r => r.Role));
        Assert.Equal([false, copySource], status.Rungs.Select(r => r.StreamCopy));

        var page = host.BaseUrl + "/player.html?src=" + Uri.EscapeDataString(url) + pageQuery;
        return await Prerequisites.RunAsync(node, TimeSpan.FromMinutes(3), Path.Combine(browserTest, "play.mjs"), page, seconds, heights);
    }
}
