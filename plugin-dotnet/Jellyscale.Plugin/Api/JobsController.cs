using System;
using System.Collections.Generic;
using System.Linq;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Core.Streaming;
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

    /// <summary>Initializes a new instance of the <see cref="JobsController"/> class.</summary>
    /// <param name="engines">The engine.</param>
    public JobsController(IStreamEngineProvider engines)
    {
        _engines = engines;
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
            return Ok(_engines.Engine.ListJobs()
                .OrderBy(j => j.IsActive ? 0 : 1)
                .ThenBy(j => j.Input, StringComparer.Ordinal)
                .Select(JobView.From)
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

/// <summary>One row of the jobs panel.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="State">The state.</param>
/// <param name="Input">The source file name (not the full path).</param>
/// <param name="Codec">The output codec.</param>
/// <param name="Width">The output width.</param>
/// <param name="Height">The output height.</param>
/// <param name="Progress">Progress 0..1.</param>
/// <param name="Fps">Encoding frames per second.</param>
/// <param name="Speed">Encoding speed (x real time).</param>
/// <param name="EtaSeconds">Estimated seconds left.</param>
/// <param name="Error">The error message of a failed job.</param>
/// <param name="Verdict">Whether the encoder keeps up with the viewer: ahead, keeping_up or falling_behind.</param>
/// <param name="Preset">The encoder preset now (faster than configured after falling behind).</param>
/// <param name="Held">The encoder is stopped so that other jobs' viewers get the CPU.</param>
/// <param name="ViewerOn">The cheaper rung a viewer is watching: lower, fallback, or original (the fallback copying the source); null when none.</param>
/// <param name="LastAdaptation">What the job last changed to keep viewers playing.</param>
public sealed record JobView(string JobId, string State, string Input, string Codec, int Width, int Height, double Progress, double Fps, double Speed, double? EtaSeconds, string? Error, string? Verdict, string Preset, bool Held, string? ViewerOn, string? LastAdaptation)
{
    /// <summary>Builds a row from a status.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The row.</returns>
    public static JobView From(JobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new(status.JobId, status.State, System.IO.Path.GetFileName(status.Input), status.Codec, status.Width, status.Height, status.Progress, status.Fps, status.Speed, status.EtaSeconds, status.Error?.Message,
            status.Verdict, status.Preset, status.Held, RungWatched(status), status.Adaptations.Count > 0 ? status.Adaptations[^1] : null);
    }

    private static string? RungWatched(JobStatus status)
    {
        var rung = status.Rungs.FirstOrDefault(r => r.Active);
        return rung is { StreamCopy: true } ? "original" : rung?.Role;
    }
}
