using System;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Configuration;
using Jellyscale.Tests.Support;
using MediaBrowser.Model.MediaInfo;
using Microsoft.AspNetCore.Builder;

namespace Jellyscale.Bench;

/// <summary>The plugin's controllers in Kestrel on 127.0.0.1 over a real engine, hosted as the Kestrel tests host them.</summary>
internal sealed class PluginServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly JellyscaleEngine _engine;

    private PluginServer(WebApplication app, JellyscaleEngine engine)
    {
        _app = app;
        _engine = engine;
        BaseUrl = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
    }

    public Uri BaseUrl { get; }

    public IStreamEngine Engine => _engine;

    public static async Task<PluginServer> StartAsync(string library, string input, int sourceHeight, EngineConfig config)
    {
        var engine = CreateEngine(library, config);
        try
        {
            var configuration = new TestConfigurationAccessor { Current = new PluginConfiguration { UseUpscaledStream = true, SegmentSeconds = config.SegmentSeconds ?? 4 } };
            var app = await PluginHost.StartAsync(
                new LazyEngineProvider(() => engine, TimeProvider.System),
                configuration,
                new StandInLibrary { Path = input, Height = sourceHeight },
                kestrel: true);
            return new PluginServer(app, engine);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Asks PlaybackInfo as a client without a device profile does; the answer's TranscodingUrl starts the job.</summary>
    public async Task<Uri> PlaybackUrlAsync(HttpClient client)
    {
        var info = await client.GetFromJsonAsync<PlaybackInfoResponse>(
            new Uri(BaseUrl, $"Items/{Guid.NewGuid()}/PlaybackInfo?ApiKey={TestAuthenticationHandler.UserToken}"),
            PluginHost.Json) ?? throw new InvalidOperationException("empty PlaybackInfo answer");
        var url = (info.MediaSources.Count > 0 ? info.MediaSources[0].TranscodingUrl : null) ?? throw new InvalidOperationException("PlaybackInfo was not rewritten");
        return new Uri(BaseUrl, url.TrimStart('/'));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _engine.Dispose();
    }

    /// <summary>
    /// The typed <see cref="EngineConfig"/> has no cpu_preset, and the CLI side runs ultrafast; the
    /// wrapper's raw-JSON constructor (internal, for tests and this bench) sends it so both encode alike.
    /// </summary>
    private static JellyscaleEngine CreateEngine(string library, EngineConfig config)
    {
        var json = JsonSerializer.SerializeToNode(config, EngineJsonContext.Default.EngineConfig)!.AsObject();
        json["cpu_preset"] = "ultrafast";
        return JellyscaleEngine.CreateFromJson(library, json.ToJsonString());
    }
}
