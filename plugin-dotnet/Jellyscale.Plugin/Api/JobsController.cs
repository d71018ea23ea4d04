using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Serialization;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Core.Streaming;
using Jellyscale.Plugin.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Jellyscale.Plugin.Api;

/// <summary>The jobs panel of the dashboard page: list and cancel (administrators only).</summary>
[ApiController]
[Authorize(Policy = RequiresElevation)]
[Route("Jellyscale/Jobs")]
public sealed class JobsController : ControllerBase
{
    /// <summary>Jellyfin's administrator policy (Jellyfin.Api Policies.RequiresElevation).</summary>
    public const string RequiresElevation = "RequiresElevation";

    private readonly IStreamEngineProvider _engines;
    private readonly IPluginConfigurationAccessor _configuration;

    /// <summary>Initializes a new instance of the <see cref="JobsController"/> class.</summary>
    /// <param name="engines">The engine.</param>
    /// <param name="configuration">The configuration (the shader the engine was given).</param>
    public JobsController(IStreamEngineProvider engines, IPluginConfigurationAccessor configuration)
    {
        _engines = engines;
        _configuration = configuration;
    }

    /// <summary>Lists running and finished jobs, newest activity first.</summary>
    /// <returns>The jobs.</returns>
    [HttpGet]
    [ProducesResponseType(StatusCodes.Status200OK)]
    [ProducesResponseType(StatusCodes.Status503ServiceUnavailable)]
    public ActionResult<IReadOnlyList<JobView>> GetJobs()
    {
        try
        {
            var engine = _engines.Engine;
            var upscaler = JobView.DescribeUpscaler(engine.GetInfo(), _configuration.Current.ShaderPath);
            return Ok(engine.ListJobs()
                .OrderBy(j => j.IsActive ? 0 : 1)
                .ThenBy(j => j.Input, StringComparer.Ordinal)
                .Select(j => JobView.From(j, upscaler))
                .ToList());
        }
#pragma warning disable CA1031 // The panel shows "engine unavailable" rather than an error page.
        catch (Exception)
#pragma warning restore CA1031
        {
            return StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>Cancels a job.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>No content.</returns>
    [HttpPost("{jobId}/Cancel")]
    [ProducesResponseType(StatusCodes.Status204NoContent)]
    [ProducesResponseType(StatusCodes.Status400BadRequest)]
    [ProducesResponseType(StatusCodes.Status404NotFound)]
    public IActionResult CancelJob([FromRoute] string jobId)
    {
        if (!JobId.IsValid(jobId))
        {
            return BadRequest();
        }

        try
        {
            _engines.Engine.Cancel(jobId);
            return NoContent();
        }
        catch (JellyscaleException e) when (e.Status == JellyscaleStatus.NotFound)
        {
            return NotFound();
        }
    }
}

/// <summary>
/// One row of the jobs panel. The enums carry their converter on the property: Jellyfin's own JSON
/// options hold a plain enum converter, which would otherwise win and send "Running" for "running".
/// </summary>
/// <param name="JobId">The job id.</param>
/// <param name="State">The state.</param>
/// <param name="Input">The source file name (not the full path).</param>
/// <param name="Codec">The output codec.</param>
/// <param name="Width">The output width.</param>
/// <param name="Height">The output height.</param>
/// <param name="Progress">Progress 0..1.</param>
/// <param name="SegmentCount">The number of segments of the whole video.</param>
/// <param name="ReadyRanges">The ready segments as inclusive [first, last] ranges: the progress bar with its holes (seeks leave them).</param>
/// <param name="Fps">Encoding frames per second.</param>
/// <param name="Speed">Encoding speed (x real time).</param>
/// <param name="EtaSeconds">Estimated seconds left.</param>
/// <param name="Error">The error message of a failed job.</param>
/// <param name="Verdict">Whether the encoder keeps up with the viewer.</param>
/// <param name="Preset">The encoder preset now (faster than configured after falling behind).</param>
/// <param name="Upscaler">The backend and the scaler the engine upscales with, e.g. "nvenc, lanczos".</param>
/// <param name="Held">The encoder is stopped so that other jobs' viewers get the CPU.</param>
/// <param name="ViewerOn">The cheaper rung a viewer is watching: lower, fallback, or original (the fallback copying the source); null when none.</param>
/// <param name="LastAdaptation">What the job last changed to keep viewers playing.</param>
/// <param name="Cancelable">Whether the job can still be cancelled (it is not finished).</param>
public sealed record JobView(
    string JobId,
    [property: JsonConverter(typeof(SnakeCaseEnumConverter<JobState>))] JobState State,
    string Input,
    string Codec,
    int Width,
    int Height,
    double Progress,
    int SegmentCount,
    IReadOnlyList<IReadOnlyList<int>> ReadyRanges,
    double Fps,
    double Speed,
    double? EtaSeconds,
    string? Error,
    [property: JsonConverter(typeof(SnakeCaseEnumConverter<Verdict>))] Verdict? Verdict,
    string Preset,
    string Upscaler,
    bool Held,
    string? ViewerOn,
    string? LastAdaptation,
    bool Cancelable)
{
    /// <summary>Builds a row from a status.</summary>
    /// <param name="status">The status.</param>
    /// <param name="upscaler">What <see cref="DescribeUpscaler"/> says of the engine.</param>
    /// <returns>The row.</returns>
    public static JobView From(JobStatus status, string upscaler)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new(status.JobId, status.State, System.IO.Path.GetFileName(status.Input), status.Codec, status.Width, status.Height, status.Progress,
            status.SegmentCount, status.ReadyRanges, status.Fps, status.Speed, status.EtaSeconds, status.Error?.Message,
            status.Verdict, status.Preset, upscaler, status.Held, RungWatched(status), status.Adaptations.Count > 0 ? status.Adaptations[^1] : null, status.IsActive);
    }

    /// <summary>The upscaler the engine runs: its backend, and lanczos or the configured shader (through libplacebo).</summary>
    /// <param name="info">What the engine found.</param>
    /// <param name="shaderPath">The shader the engine was given, if any.</param>
    /// <returns>For example "nvenc, lanczos" or "cpu, FSRCNNX_x2_8-0-4-1.glsl (libplacebo)".</returns>
    public static string DescribeUpscaler(EngineInfo info, string? shaderPath)
    {
        ArgumentNullException.ThrowIfNull(info);
        return string.IsNullOrWhiteSpace(shaderPath)
            ? info.Backend + ", lanczos"
            : info.Backend + ", " + System.IO.Path.GetFileName(shaderPath.Trim()) + " (libplacebo)";
    }

    private static string? RungWatched(JobStatus status)
    {
        var rung = status.Rungs.FirstOrDefault(r => r.Active);
        return rung switch
        {
            null => null,
            { StreamCopy: true } => "original",
            { Role: JobRole.Lower } => "lower",
            _ => "fallback",
        };
    }
}
