using System;
using System.Linq;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Core.Output;
using Jellyscale.Core.Playback;
using Jellyscale.Plugin.Configuration;
using MediaBrowser.Model.MediaInfo;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.Logging;

namespace Jellyscale.Plugin.Playback;

/// <summary>
/// Runs around Jellyfin's PlaybackInfo actions (GET and POST /Items/{id}/PlaybackInfo). After Jellyfin
/// built its answer, the first media source is pointed at the upscaled stream when the toggle applies
/// to the caller; on any error, or when upscaling is pointless, the answer stays as Jellyfin made it.
/// </summary>
public sealed partial class PlaybackInfoFilter : IAsyncActionFilter
{
    private readonly IPluginConfigurationAccessor _configuration;
    private readonly IStreamEngineProvider _engines;
    private readonly PlaybackLifetime _lifetime;
    private readonly ILogger<PlaybackInfoFilter> _logger;

    /// <summary>Initializes a new instance of the <see cref="PlaybackInfoFilter"/> class.</summary>
    /// <param name="configuration">The configuration.</param>
    /// <param name="engines">The engine.</param>
    /// <param name="lifetime">The job lifetime tracker.</param>
    /// <param name="logger">The logger.</param>
    public PlaybackInfoFilter(IPluginConfigurationAccessor configuration, IStreamEngineProvider engines, PlaybackLifetime lifetime, ILogger<PlaybackInfoFilter> logger)
    {
        _configuration = configuration;
        _engines = engines;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (!IsPlaybackInfo(context.ActionDescriptor))
        {
            await next();
            return;
        }

        var arguments = context.ActionArguments;
        var profile = PlaybackRequestReader.DeviceProfile(arguments);
        var enableTranscoding = PlaybackRequestReader.Flag(arguments, "enableTranscoding");
        var audioStreamIndex = PlaybackRequestReader.Number(arguments, "audioStreamIndex");
        var start = TimeSpan.FromTicks(Math.Max(0, PlaybackRequestReader.LongNumber(arguments, "startTimeTicks") ?? 0));
        var user = context.HttpContext.User;

        var executed = await next();
        if (executed.Exception is not null || executed.Result is not ObjectResult { Value: PlaybackInfoResponse response })
        {
            return;
        }

        try
        {
            var config = _configuration.Current;
            if (enableTranscoding == false || !config.AppliesTo(PlaybackRequestReader.UserId(user)))
            {
                return;
            }

            Rewrite(response, config, profile is null ? null : PlaybackRequestReader.Formats(profile), audioStreamIndex, start, PlaybackRequestReader.Token(user));
        }
#pragma warning disable CA1031 // Playback must never break because of the upscaler.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRewriteFailed(e);
        }
    }

    private static bool IsPlaybackInfo(Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor descriptor)
        => descriptor is ControllerActionDescriptor action
            && action.ControllerName == "MediaInfo"
            && action.ActionName is "GetPlaybackInfo" or "GetPostedPlaybackInfo";

    private void Rewrite(PlaybackInfoResponse response, PluginConfiguration config, System.Collections.Generic.IReadOnlyCollection<ClientFormat>? formats, int? audioStreamIndex, TimeSpan start, string? token)
    {
        var sources = response.MediaSources?.ToArray() ?? Array.Empty<MediaBrowser.Model.Dto.MediaSourceInfo>();
        if (sources.Length == 0)
        {
            return;
        }

        // A saved "Name - Upscaled 2160p" version is served by Jellyfin itself: prefer it, change nothing else.
        var original = sources[0];
        var version = Array.FindIndex(sources, s => UpscaledVersion.IsVersionOf(s.Path, original.Path));
        if (version > 0)
        {
            response.MediaSources = sources.Skip(version).Take(1).Concat(sources.Where((_, i) => i != version)).ToArray();
            return;
        }

        var engine = _engines.Engine;
        var format = CodecChoice.Choose(formats, config.CodecPolicy, engine.GetInfo().HevcHardware);
        if (format is null)
        {
            LogNoPlayableFormat(original.Id);
            return;
        }

        var request = UpscalePlanner.Plan(MediaSourceRewrite.Facts(original, audioStreamIndex), config.Target(), format, start, config.CopySourceAsFallback);
        if (request is null)
        {
            return;
        }

        var job = engine.StartStream(request);
        if (!job.IsUsable)
        {
            LogJobUnusable(job.JobId, job.State);
            return;
        }

        MediaSourceRewrite.Apply(original, job, StreamUrl.Master(job.JobId, response.PlaySessionId, token));
        _lifetime.Attach(response.PlaySessionId, job.JobId);
        LogRewritten(original.Id, job.JobId, job.Codec, job.Height);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jellyscale left PlaybackInfo unchanged after an error")]
    private partial void LogRewriteFailed(Exception error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Jellyscale: the client's profile has no HLS video format for source {SourceId}")]
    private partial void LogNoPlayableFormat(string? sourceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale: job {JobId} is {State}; playing the original")]
    private partial void LogJobUnusable(string jobId, JobState state);

    [LoggerMessage(Level = LogLevel.Information, Message = "Jellyscale: source {SourceId} plays job {JobId} ({Codec}, {Height}p)")]
    private partial void LogRewritten(string? sourceId, string jobId, string codec, int height);
}
