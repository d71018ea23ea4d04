using System;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
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
        Prerequisites.NativeLibrary();
        Prerequisites.Ffmpeg();
        Prerequisites.Tool(Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium");
        var browserTest = Path.Combine(Prerequisites.PluginDir, "browser-test");
        var hlsJs = Path.Combine(browserTest, "node_modules", "hls.js", "dist", "hls.min.js");
        Prerequisites.Require(File.Exists(hlsJs), "browser-test/node_modules is missing (run npm ci in plugin-dotnet/browser-test)");
        var node = Prerequisites.Tool("/usr/bin/node");

        await using var host = await RealEngineHost.StartAsync(_clips, _clips.LongClip, "browser", app =>
        {
            app.MapGet("/player.html", () => Results.File(Path.Combine(browserTest, "player.html"), "text/html"));
            app.MapGet("/hls.js", () => Results.File(hlsJs, "text/javascript"));
        });
        var url = await host.PlaybackUrlAsync();
        var status = host.Engine.GetStatus(RealEngineHost.JobIdOf(url));
        Assert.True(status.IsActive && status.Progress < 1, $"job should be encoding when the player starts, was {status.State} at {status.Progress:P0}");

        var page = host.BaseUrl + "/player.html?src=" + Uri.EscapeDataString(url);
        var (code, stdout, stderr) = await Prerequisites.RunAsync(node, TimeSpan.FromMinutes(3), Path.Combine(browserTest, "play.mjs"), page, "10");
        Assert.True(code == 0, $"player failed: {stdout} {stderr}");

        using var result = JsonDocument.Parse(stdout.Trim());
        Assert.True(result.RootElement.GetProperty("currentTime").GetDouble() > 10);
        Assert.Equal(720, result.RootElement.GetProperty("height").GetInt32());
    }
}
