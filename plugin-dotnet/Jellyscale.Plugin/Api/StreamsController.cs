using System;
using System.Buffers;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Lifetime;
using Jellyscale.Core.Native;
using Jellyscale.Core.Playback;
using Jellyscale.Plugin.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Jellyscale.Plugin.Api;

/// <summary>
/// Serves the upscaled HLS stream through Jellyfin's own HTTP stack and authentication (hls.js sends
/// the ApiKey query, which every playlist URI carries). A thin adapter over the engine's front door
/// (<c>jellyscale_request</c>): one engine call per HTTP request, whose answer (status, MIME,
/// Cache-Control, body, or a byte range of an open file) is sent as it is. Which names exist, what a
/// Range selects and which error is which status are the engine's rules, written once in Rust.
/// </summary>
[ApiController]
[Authorize]
[Route(StreamUrl.RoutePrefix)]
public sealed class StreamsController : ControllerBase
{
    // Large enough that a 4 s 4K segment is a few dozen reads, small enough for the array pool.
    private const int CopyBufferBytes = 256 * 1024;

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

    /// <summary>Gets a file of a job's stream: master.m3u8, main.m3u8, init.mp4, {n}.ts or {n}.m4s.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="file">The file name.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>The engine's answer.</returns>
    [HttpGet("{jobId}/{file}")]
    [HttpHead("{jobId}/{file}")]
    [ProducesResponseType(StatusCodes.Status200OK)]
    [ProducesResponseType(StatusCodes.Status206PartialContent)]
    [ProducesResponseType(StatusCodes.Status404NotFound)]
    [ProducesResponseType(StatusCodes.Status410Gone)]
    [ProducesResponseType(StatusCodes.Status416RangeNotSatisfiable)]
    [ProducesResponseType(StatusCodes.Status503ServiceUnavailable)]
    public Task<IActionResult> GetStreamFile([FromRoute] string jobId, [FromRoute] string file, CancellationToken cancellationToken)
        => Answer(jobId, file, cancellationToken);

    /// <summary>Gets a file of one of the job's cheaper variants (<c>lower/</c>, <c>fallback/</c>), as the master playlist names them.</summary>
    /// <param name="jobId">The upscaled job's id.</param>
    /// <param name="variant">The variant: lower or fallback.</param>
    /// <param name="file">The file name.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>The engine's answer.</returns>
    [HttpGet("{jobId}/{variant}/{file}")]
    [HttpHead("{jobId}/{variant}/{file}")]
    [ProducesResponseType(StatusCodes.Status200OK)]
    [ProducesResponseType(StatusCodes.Status206PartialContent)]
    [ProducesResponseType(StatusCodes.Status404NotFound)]
    [ProducesResponseType(StatusCodes.Status410Gone)]
    [ProducesResponseType(StatusCodes.Status416RangeNotSatisfiable)]
    [ProducesResponseType(StatusCodes.Status503ServiceUnavailable)]
    public Task<IActionResult> GetVariantFile([FromRoute] string jobId, [FromRoute] string variant, [FromRoute] string file, CancellationToken cancellationToken)
        => Answer(jobId, variant + "/" + file, cancellationToken);

    private async Task<IActionResult> Answer(string jobId, string path, CancellationToken cancellationToken)
    {
        // The engine also answers "status", a job's full status: that is the
        // administrators' jobs panel's business, not every signed-in user's.
        if (path == "status" || path.EndsWith("/status", StringComparison.Ordinal))
        {
            return NotFound();
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

        StreamReply reply;
        try
        {
            reply = await engine.RequestAsync(jobId, path, Request.QueryString.Value, Request.Headers.Range.ToString() is { Length: > 0 } range ? range : null, WaitTimeout(), cancellationToken).ConfigureAwait(false);
        }
        catch (JellyscaleException e)
        {
            // Refused before it started: too many requests pending, or the engine is stopping.
            return StatusCode(e.Status is JellyscaleStatus.Busy or JellyscaleStatus.ShuttingDown
                ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status500InternalServerError);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left; nobody reads this answer (a file that comes later is closed for us).
            return new EmptyResult();
        }

        using (reply)
        {
            if (reply.HttpStatus is >= 200 and < 300)
            {
                // A viewer of any variant keeps the upscaled job (the one in the URL) alive.
                _lifetime.Touch(jobId);
            }

            try
            {
                await Send(reply, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && cancellationToken.IsCancellationRequested)
            {
                // The client left mid-answer; the file is closed as the reply is disposed.
            }

            return new EmptyResult();
        }
    }

    /// <summary>Writes the reply as the engine describes it; the reply's file is closed by the caller.</summary>
    private async Task Send(StreamReply reply, CancellationToken cancellationToken)
    {
        Response.StatusCode = reply.HttpStatus;
        if (reply.CacheControl is not null)
        {
            Response.Headers.CacheControl = reply.CacheControl;
        }

        if (reply.ContentRange is not null)
        {
            Response.Headers.ContentRange = reply.ContentRange;
        }

        if (reply.Body is not null)
        {
            Response.ContentType = reply.Mime;
            var bytes = System.Text.Encoding.UTF8.GetBytes(reply.Body);
            Response.ContentLength = bytes.Length;
            if (!HttpMethods.IsHead(Request.Method))
            {
                await Response.Body.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (reply.File is not { } file)
        {
            // 416 and errors: the status (and Content-Range) say it all.
            Response.ContentLength = 0;
            return;
        }

        Response.ContentType = reply.Mime;
        Response.Headers.AcceptRanges = "bytes";
        Response.ContentLength = reply.Length;
        if (HttpMethods.IsHead(Request.Method))
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            var offset = reply.Offset;
            var left = reply.Length;
            while (left > 0)
            {
                var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), offset, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    // The file is shorter than the engine said: the response ends short of its
                    // Content-Length, which the server reports to the client as a broken answer.
                    return;
                }

                await Response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                offset += read;
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private TimeSpan WaitTimeout()
        => TimeSpan.FromSeconds(Math.Clamp(_configuration.Current.SegmentWaitSeconds, 1, 600));
}
