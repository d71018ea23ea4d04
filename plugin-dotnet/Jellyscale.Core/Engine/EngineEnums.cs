using System;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jellyscale.Core.Engine;

/// <summary>
/// Where a job is in its life, as the engine's status JSON names it (<c>src/job/status.rs</c>,
/// <c>JobState</c>; a test reads that enum and the states a real engine emits). An unknown name
/// fails the status's parsing: a library of another contract is refused, not half understood.
/// </summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<JobState>))]
public enum JobState
{
    /// <summary>Found unfinished on disk at engine start (or a rung waiting for a request); a start resumes it.</summary>
    Paused,

    /// <summary>Waiting for an encoder slot.</summary>
    Queued,

    /// <summary>An ffmpeg run is encoding segments.</summary>
    Running,

    /// <summary>Every segment exists; the finished file is being assembled and verified.</summary>
    Finalizing,

    /// <summary>The verified finished file exists.</summary>
    Done,

    /// <summary>Stopped by an error (see the status's error).</summary>
    Failed,

    /// <summary>Stopped by a cancel or an engine shutdown.</summary>
    Cancelled,
}

/// <summary>What a job's segments are for (<c>src/job/status.rs</c>, <c>Role</c>).</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<JobRole>))]
public enum JobRole
{
    /// <summary>The upscaled variant: encoded to the end and saved as the finished file.</summary>
    Upscaled,

    /// <summary>The middle rung: the same upscale at two thirds of the target height.</summary>
    Lower,

    /// <summary>The cheapest rung: the source's size (or the source itself, copied).</summary>
    Fallback,
}

/// <summary>Whether the encoder keeps up with its viewer (<c>src/job/status.rs</c>, <c>Verdict</c>).</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<Verdict>))]
public enum Verdict
{
    /// <summary>Faster than real time with video buffered ahead of the viewer.</summary>
    Ahead,

    /// <summary>About real time: the viewer will not wait, but there is no headroom.</summary>
    KeepingUp,

    /// <summary>Slower than real time and the buffer is running out: the viewer will wait.</summary>
    FallingBehind,
}

/// <summary>
/// The engine's enum names (serde's lowercase and snake_case: <c>paused</c>, <c>keeping_up</c>), read and
/// written by name only. A converter type rather than per-member names, which .NET 8 (Jellyfin 10.10) lacks.
/// </summary>
/// <typeparam name="T">The enum.</typeparam>
public sealed class SnakeCaseEnumConverter<T> : JsonStringEnumConverter<T>
    where T : struct, Enum
{
    /// <summary>Initializes a new instance of the <see cref="SnakeCaseEnumConverter{T}"/> class.</summary>
    public SnakeCaseEnumConverter()
        : base(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    {
    }
}
