using System;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using MediaBrowser.Model.MediaInfo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Jellyscale.Tests.Support;

/// <summary>The plugin in a real Kestrel on 127.0.0.1 with a real engine and the stand-in MediaInfo controller.</summary>
public sealed class RealEngineHost : IAsyncDisposable
{
    public const string ChromiumProfile = """
        {"DeviceProfile":{"TranscodingProfiles":[
            {"Container":"ts","Type":"Video","AudioCodec":"aac,mp3","VideoCodec":"h264","Context":"Streaming","Protocol":"hls"}]}}
        """;

    /// <summary>A client that plays only HEVC over HLS: it gets HEVC even from the CPU engine (no hardware HEVC encoder).</summary>
    public const string HevcProfile = """
        {"DeviceProfile":{"TranscodingProfiles":[
            {"Container":"mp4","Type":"Video","AudioCodec":"aac","VideoCodec":"hevc","Context":"Streaming","Protocol":"hls"}]}}
        """;

    private RealEngineHost(WebApplication app, JellyscaleEngine engine, StandInLibrary library, TestConfigurationAccessor configuration)
    {
        App = app;
        Configuration = configuration;
        Engine = engine;
        Library = library;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        Client = new HttpClient { BaseAddress = new Uri(BaseUrl) };
    }

    public WebApplication App { get; }

    public JellyscaleEngine Engine { get; }

    public StandInLibrary Library { get; }

    public string BaseUrl { get; }

    public HttpClient Client { get; }

    /// <summary>Gets the plugin settings the host reads on every request.</summary>
    public TestConfigurationAccessor Configuration { get; }

    public static async Task<RealEngineHost> StartAsync(MediaClips clips, string input, string name, Action<WebApplication>? extraRoutes = null)
    {
        var engine = clips.NewEngine(name);
        var library = new StandInLibrary { Path = input, Height = input == clips.LongClip ? 360 : 180, Probed = await JellyfinProbe.ProbeAsync(input) };
        var configuration = new TestConfigurationAccessor();
        var app = await PluginHost.StartAsync(new LazyEngineProvider(() => engine, TimeProvider.System), configuration, library, kestrel: true, extraRoutes);
        return new RealEngineHost(app, engine, library, configuration);
    }

    /// <summary>Asks PlaybackInfo as jellyfin-web in Chromium does and returns the rewritten TranscodingUrl.</summary>
    public async Task<string> PlaybackUrlAsync(string token = TestAuthenticationHandler.UserToken, string profile = ChromiumProfile)
    {
        using var content = new StringContent(profile, Encoding.UTF8, "application/json");
        using var response = await Client.PostAsync($"/Items/{Guid.NewGuid()}/PlaybackInfo?ApiKey={token}", content);
        response.EnsureSuccessStatusCode();
        var info = (await response.Content.ReadFromJsonAsync<PlaybackInfoResponse>(PluginHost.Json))!;
        return info.MediaSources.Single().TranscodingUrl ?? throw new InvalidOperationException("PlaybackInfo was not rewritten");
    }

    public static string JobIdOf(string transcodingUrl) => transcodingUrl.Split('/')[3];

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Engine.Dispose();
    }
}
