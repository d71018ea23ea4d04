using System;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Core.Native;
using Jellyscale.Core.Playback;
using Jellyscale.Core.Streaming;
using Jellyscale.Plugin.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Jellyscale.Plugin.Api;

/// <summary>
/// Serves the upscaled HLS stream through Jellyfin's own HTTP stack and authentication (hls.js sends
/// the ApiKey query, which every playlist URI carries). File names from the URL are parsed into
/// (job id, kind, index); the files served are the paths the engine reports.
/// </summary>
[ApiController]
[Authorize]
[Route(StreamUrl.RoutePrefix)]
public sealed class StreamsController : ControllerBase
{
    private readonly IStreamEngineProvider _engines;
    private readonly PlaybackLifetime _lifetime;
    private readonly IPluginConfigurationAccessor _configuration;

    /// <summary>Initializes a new instance of the <see cref="StreamsController"/> class.</summary>
    /// <param name="engines">The engine.</param>
    /// <param name="lifetime">The job lifetime tracker.</param>
    /// <param name="configuration">The configuration.</param>
    public StreamsController(IStreamEngineProvider engines, PlaybackLifetime lifetime, IPluginConfigurationAccessor configuration)
    {
        _engines = engines;
        _lifetime = lifetime;
        _configuration = configuration;
    }

    /// <summary>Gets a playlist or segment of a job.</summary>
    /// <param name="jobId">The job id (32 lowercase hex).</param>
    /// <param name="file">master.m3u8, main.m3u8, init.mp4, {n}.ts or {n}.m4s.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>The file.</returns>
    [HttpGet("{jobId}/{file}")]
    [HttpHead("{jobId}/{file}")]
    [ProducesResponseType(StatusCodes.Status200OK)]
    [ProducesResponseType(StatusCodes.Status206PartialContent)]
    [ProducesResponseType(StatusCodes.Status400BadRequest)]
    [ProducesResponseType(StatusCodes.Status404NotFound)]
    [ProducesResponseType(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IActionResult> GetStreamFile([FromRoute] string jobId, [FromRoute] string file, CancellationToken cancellationToken)
    {
        if (!JobId.IsValid(jobId) || !StreamFile.TryParse(file, out var name) || !UriQuery.TryNormalize(Request.QueryString.Value, out var query))
        {
            return BadRequest();
        }

        IStreamEngine engine;
        try
        {
            engine = _engines.Engine;
        }
#pragma warning disable CA1031 // Any failure to create the engine is "service unavailable" to the player.
        catch (Exception)
#pragma warning restore CA1031
        {
            return StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            var status = engine.GetStatus(jobId);

            // A viewer on a cheaper rung is a viewer of its upscaled job.
            _lifetime.Touch(status.ParentJobId ?? jobId);
            return name.Kind switch
            {
                StreamFileKind.MasterPlaylist => Playlist(MasterPlaylist.Build(status, query)),
                StreamFileKind.MediaPlaylist => Playlist(engine.GetPlaylist(jobId, query)),
                StreamFileKind.InitSegment => await InitSegment(engine, status, cancellationToken),
                _ => await Segment(engine, status, name, cancellationToken),
            };
        }
        catch (JellyscaleException e)
        {
            return e.Status switch
            {
                JellyscaleStatus.NotFound or JellyscaleStatus.InvalidArgument => NotFound(),
                _ => StatusCode(StatusCodes.Status503ServiceUnavailable),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left; nobody reads this answer.
            return new EmptyResult();
        }
    }

    private ContentResult Playlist(string text)
    {
        Response.Headers.CacheControl = "no-cache";
        return Content(text, "application/vnd.apple.mpegurl");
    }

    private async Task<IActionResult> InitSegment(IStreamEngine engine, JobStatus status, CancellationToken cancellationToken)
    {
        if (status.SegmentContainer != "mp4")
        {
            return NotFound();
        }

        // The init section comes with any segment. A player switching to a cheaper rung asks
        // for it first: the rung starts where that player is, not at the beginning.
        var at = status.ParentJobId is { } parent ? engine.GetStatus(parent).ViewerSegment ?? 0 : 0;
        var segment = await engine.WaitSegmentAsync(status.JobId, at, WaitTimeout(), cancellationToken);
        return segment.InitPath is null ? NotFound() : Slice(segment.InitPath, segment.InitOffset, segment.InitLength, "video/mp4");
    }

    private async Task<IActionResult> Segment(IStreamEngine engine, JobStatus status, StreamFile name, CancellationToken cancellationToken)
    {
        var expectedExtension = status.SegmentContainer == "mp4" ? "m4s" : "ts";
        if (name.Extension != expectedExtension || name.Index >= status.SegmentCount)
        {
            return NotFound();
        }

        var segment = await engine.WaitSegmentAsync(status.JobId, name.Index, WaitTimeout(), cancellationToken);
        return Slice(segment.Path, segment.Offset, segment.Length, name.ContentType());
    }

    /// <summary>A segment file, or the range of a finished file that holds the segment.</summary>
    private IActionResult Slice(string path, long? offset, long? length, string contentType)
    {
        if (offset is not { } start || length is not { } count || FileSliceStream.IsWholeFile(path, start, count))
        {
            return PhysicalFile(path, contentType, enableRangeProcessing: true);
        }

        return File(new FileSliceStream(path, start, count), contentType, enableRangeProcessing: true);
    }

    private TimeSpan WaitTimeout()
        => TimeSpan.FromSeconds(Math.Clamp(_configuration.Current.SegmentWaitSeconds, 1, 600));
}
