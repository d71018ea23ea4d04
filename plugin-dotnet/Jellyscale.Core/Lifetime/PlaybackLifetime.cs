using System;
using System.Collections.Generic;

namespace Jellyscale.Core.Lifetime;

/// <summary>What to do with a job once nobody watches it.</summary>
public enum IdlePolicy
{
    /// <summary>Let the engine finish it so the saved file is complete.</summary>
    FinishInBackground,

    /// <summary>Cancel it.</summary>
    Stop,
}

/// <summary>
/// Keeps track of which jobs are watched, the way Jellyfin's transcoder does: playback progress
/// pings and segment requests keep a job hot; a stop report or <see cref="IdleTimeout"/> without any
/// sign of life makes it idle. Thread-safe.
/// </summary>
public sealed class PlaybackLifetime
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, string> _jobBySession = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JobWatch> _jobs = new(StringComparer.Ordinal);

    /// <summary>Initializes a new instance of the <see cref="PlaybackLifetime"/> class.</summary>
    /// <param name="time">The clock.</param>
    /// <param name="idleTimeout">How long a job stays hot without a sign of life.</param>
    public PlaybackLifetime(TimeProvider time, TimeSpan idleTimeout)
    {
        _time = time ?? throw new ArgumentNullException(nameof(time));
        IdleTimeout = idleTimeout;
    }

    /// <summary>Gets the idle timeout.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Records that a play session plays a job (from the PlaybackInfo rewrite).</summary>
    /// <param name="playSessionId">The play session id, if the client has one.</param>
    /// <param name="jobId">The job id.</param>
    public void Attach(string? playSessionId, string jobId)
    {
        lock (_gate)
        {
            var watch = Watch(jobId);
            if (!string.IsNullOrEmpty(playSessionId))
            {
                _jobBySession[playSessionId] = jobId;
                watch.Sessions.Add(playSessionId);
            }

            watch.LastSeen = _time.GetUtcNow();
        }
    }

    /// <summary>A request for the job's playlist or segments: the job is being watched.</summary>
    /// <param name="jobId">The job id.</param>
    public void Touch(string jobId)
    {
        lock (_gate)
        {
            Watch(jobId).LastSeen = _time.GetUtcNow();
        }
    }

    /// <summary>A playback progress report or ping for a play session.</summary>
    /// <param name="playSessionId">The play session id.</param>
    public void Ping(string? playSessionId)
    {
        if (string.IsNullOrEmpty(playSessionId))
        {
            return;
        }

        lock (_gate)
        {
            if (_jobBySession.TryGetValue(playSessionId, out var jobId))
            {
                Watch(jobId).LastSeen = _time.GetUtcNow();
            }
        }
    }

    /// <summary>A playback stop report: the job goes idle once its last session has stopped.</summary>
    /// <param name="playSessionId">The play session id.</param>
    public void Stop(string? playSessionId)
    {
        if (string.IsNullOrEmpty(playSessionId))
        {
            return;
        }

        lock (_gate)
        {
            if (!_jobBySession.Remove(playSessionId, out var jobId) || !_jobs.TryGetValue(jobId, out var watch))
            {
                return;
            }

            watch.Sessions.Remove(playSessionId);
            if (watch.Sessions.Count == 0)
            {
                watch.Stopped = true;
            }
        }
    }

    /// <summary>Gets a value indicating whether any job is tracked (hot or not yet collected).</summary>
    public bool HasJobs
    {
        get
        {
            lock (_gate)
            {
                return _jobs.Count > 0;
            }
        }
    }

    /// <summary>Whether a job is being watched right now.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>True while hot.</returns>
    public bool IsHot(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var watch) && !IsIdle(watch, _time.GetUtcNow());
        }
    }

    /// <summary>Removes and returns the jobs that went idle since the last call.</summary>
    /// <returns>The idle job ids.</returns>
    public IReadOnlyList<string> TakeIdleJobs()
    {
        var idle = new List<string>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var (jobId, watch) in _jobs)
            {
                if (IsIdle(watch, now))
                {
                    idle.Add(jobId);
                }
            }

            foreach (var jobId in idle)
            {
                foreach (var session in _jobs[jobId].Sessions)
                {
                    _jobBySession.Remove(session);
                }

                _jobs.Remove(jobId);
            }
        }

        return idle;
    }

    private bool IsIdle(JobWatch watch, DateTimeOffset now)
        => watch.Stopped || now - watch.LastSeen >= IdleTimeout;

    private JobWatch Watch(string jobId)
    {
        if (!_jobs.TryGetValue(jobId, out var watch))
        {
            watch = new JobWatch();
            _jobs[jobId] = watch;
        }

        // Any sign of life revives a job whose viewers had stopped (e.g. they pressed play again).
        watch.Stopped = false;
        return watch;
    }

    private sealed class JobWatch
    {
        public HashSet<string> Sessions { get; } = new(StringComparer.Ordinal);

        public DateTimeOffset LastSeen { get; set; }

        public bool Stopped { get; set; }
    }
}
