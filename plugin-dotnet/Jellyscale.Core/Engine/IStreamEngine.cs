using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Jellyscale.Core.Engine;

/// <summary>What the plugin needs from the upscale engine; <see cref="JellyscaleEngine"/> is the real one.</summary>
public interface IStreamEngine
{
    /// <summary>Starts (or finds) the job for a request; never waits for the encode.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The job's status.</returns>
    JobStatus StartStream(StreamRequest request);

    /// <summary>Gets a job's status.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>The status.</returns>
    JobStatus GetStatus(string jobId);

    /// <summary>Cancels a job.</summary>
    /// <param name="jobId">The job id.</param>
    void Cancel(string jobId);

    /// <summary>Lists every job the engine knows.</summary>
    /// <returns>The jobs.</returns>
    IReadOnlyList<JobStatus> ListJobs();

    /// <summary>
    /// Answers a request for a path of a job's stream as an HTTP server sends it (one engine call per
    /// HTTP request): playlists, init section, segments and their Range, every error with its status.
    /// </summary>
    /// <param name="jobId">The job id from the URL.</param>
    /// <param name="path">The path inside the job: <c>master.m3u8</c>, <c>main.m3u8</c>, <c>lower/3.ts</c>, ...</param>
    /// <param name="uriQuery">Query appended to every playlist URI (it carries the ApiKey), or null.</param>
    /// <param name="range">The request's Range header, or null.</param>
    /// <param name="timeout">The longest wait for a segment not made yet.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>The reply; the caller disposes it (that closes its file).</returns>
    Task<StreamReply> RequestAsync(string jobId, string path, string? uriQuery, string? range, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>What the engine found on this machine: its backend and whether a hardware HEVC encoder works.</summary>
    /// <returns>The engine's findings.</returns>
    EngineInfo GetInfo();

    /// <summary>Deletes finished files and job folders by age, then oldest first to the size budget; jobs at work are kept.</summary>
    /// <param name="options">The limits.</param>
    /// <returns>What was deleted.</returns>
    CleanupResult Cleanup(CleanupOptions options);
}
