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

    /// <summary>Gets the full-length VOD media playlist.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="uriQuery">Query appended to every segment URI (without '?'), or empty.</param>
    /// <returns>The m3u8 text.</returns>
    string GetPlaylist(string jobId, string uriQuery);

    /// <summary>Waits, without blocking a thread, until a segment is complete.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="index">The segment index.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>The ready segment.</returns>
    Task<SegmentInfo> WaitSegmentAsync(string jobId, int index, TimeSpan timeout, CancellationToken cancellationToken);
}
