using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Jellyscale.Core.Engine;

/// <summary>Engine configuration (<c>jellyscale_engine_new</c>); null members are left out so the library's defaults apply.</summary>
public sealed record EngineConfig
{
    /// <summary>Gets the folder for in-progress jobs.</summary>
    public string? CacheDir { get; init; }

    /// <summary>Gets the folder for finished files.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Gets the ffmpeg path.</summary>
    public string? FfmpegPath { get; init; }

    /// <summary>Gets the ffprobe path.</summary>
    public string? FfprobePath { get; init; }

    /// <summary>Gets the number of jobs encoding at once.</summary>
    public int? MaxConcurrentJobs { get; init; }

    /// <summary>Gets the number of jobs waiting at most.</summary>
    public int? MaxQueuedJobs { get; init; }

    /// <summary>Gets the HLS segment length in seconds.</summary>
    public int? SegmentSeconds { get; init; }

    /// <summary>Gets the backend: auto, cpu, nvenc, vaapi or qsv.</summary>
    public string? Backend { get; init; }

    /// <summary>Gets the default scale factor.</summary>
    public int? DefaultScale { get; init; }

    /// <summary>Gets the default maximum output height.</summary>
    public int? MaxHeight { get; init; }

    /// <summary>Gets the VA-API device.</summary>
    public string? VaapiDevice { get; init; }

    /// <summary>Gets the length of segment 0 in seconds (short, so playback starts sooner).</summary>
    public int? FirstSegmentSeconds { get; init; }

    /// <summary>Gets the x264/x265 preset of the CPU backend.</summary>
    public string? CpuPreset { get; init; }

    /// <summary>Gets an mpv-style GLSL shader run by libplacebo instead of lanczos (cpu and nvenc).</summary>
    public string? ShaderPath { get; init; }

    /// <summary>Gets the seconds without a segment request after which a job's encoder drops to background priority.</summary>
    public int? ViewerIdleSeconds { get; init; }

    /// <summary>Gets a value indicating whether unfinished jobs found in the cache resume at engine start (else they wait, paused).</summary>
    public bool? ResumeUnfinished { get; init; }

    /// <summary>Gets how long a start with a copying fallback waits for the source's keyframes.</summary>
    public int? KeyframeReadSeconds { get; init; }
}

/// <summary>What the engine found on this machine (<c>jellyscale_engine_info</c>).</summary>
public sealed record EngineInfo
{
    /// <summary>Gets the backend jobs use (auto resolved): cpu, nvenc, vaapi or qsv.</summary>
    public string Backend { get; init; } = "cpu";

    /// <summary>Gets a value indicating whether that backend is a hardware encoder.</summary>
    public bool Hardware { get; init; }

    /// <summary>Gets a value indicating whether a one-frame HEVC test encode works on the backend's hardware encoder.</summary>
    public bool HevcHardware { get; init; }

    /// <summary>Gets ffmpeg's reason when the HEVC test encode did not work.</summary>
    public string? HevcReason { get; init; }

    /// <summary>Gets the ffmpeg jobs run.</summary>
    public string? Ffmpeg { get; init; }
}

/// <summary>A request to upscale one file for streaming (<c>jellyscale_start_stream</c>).</summary>
public sealed record StreamRequest
{
    /// <summary>Gets the absolute path of the source file.</summary>
    public required string Input { get; init; }

    /// <summary>Gets the output codec: h264 or hevc.</summary>
    public required string Codec { get; init; }

    /// <summary>Gets the scale factor.</summary>
    public int? Scale { get; init; }

    /// <summary>Gets the maximum output height.</summary>
    public int? MaxHeight { get; init; }

    /// <summary>Gets the absolute ffprobe index of the audio stream to use.</summary>
    public int? AudioStream { get; init; }

    /// <summary>Gets the segment to start encoding at (<see cref="StartSeconds"/> is preferred: only the engine knows its timeline).</summary>
    public int? StartSegment { get; init; }

    /// <summary>Gets the position in seconds where playback starts (a resume point); the engine starts at the segment holding it.</summary>
    public double? StartSeconds { get; init; }

    /// <summary>
    /// Gets the source as Jellyfin already probed it. The engine then plans and starts encoding at
    /// once and checks this description with ffprobe while the job runs (a job the file contradicts
    /// fails); without it the engine runs ffprobe first.
    /// </summary>
    public SourceMedia? Media { get; init; }

    /// <summary>
    /// Gets a value indicating whether the player decodes the source's H.264 itself: the fallback
    /// variant is then a copy of the source when its keyframes allow (every variant's segments are
    /// cut at them), and the engine reads the whole file once to find them, waiting for that read
    /// before the first segment for at most its <c>keyframe_read_seconds</c> (3 s).
    /// </summary>
    public bool CopyFallback { get; init; }
}

/// <summary>A source described in the shape of <c>jellyscale probe</c>'s JSON.</summary>
public sealed record SourceMedia
{
    /// <summary>Gets the duration in seconds.</summary>
    public required double Duration { get; init; }

    /// <summary>Gets the upright width of the video (rotation applied).</summary>
    public required int Width { get; init; }

    /// <summary>Gets the upright height of the video (rotation applied).</summary>
    public required int Height { get; init; }

    /// <summary>Gets the average frame rate.</summary>
    public required double Fps { get; init; }

    /// <summary>Gets the video codec as ffprobe names it.</summary>
    public required string VideoCodec { get; init; }

    /// <summary>Gets the bits per sample of the video.</summary>
    public required int BitDepth { get; init; }

    /// <summary>Gets the absolute index of the video stream.</summary>
    public required int VideoIndex { get; init; }

    /// <summary>Gets the audio streams in file order.</summary>
    public required IReadOnlyList<SourceAudio> Audio { get; init; }
}

/// <summary>One audio stream of a described source.</summary>
public sealed record SourceAudio
{
    /// <summary>Gets the absolute stream index.</summary>
    public required int Index { get; init; }

    /// <summary>Gets the codec as ffprobe names it.</summary>
    public required string Codec { get; init; }

    /// <summary>Gets the channel count.</summary>
    public required int Channels { get; init; }

    /// <summary>Gets the sample rate in Hz.</summary>
    public required int SampleRate { get; init; }
}

/// <summary>An error as the library reports it.</summary>
public sealed record EngineError
{
    /// <summary>Gets the error code.</summary>
    public string Code { get; init; } = "internal";

    /// <summary>Gets the message.</summary>
    public string? Message { get; init; }
}

/// <summary>The state of one upscale job.</summary>
public sealed record JobStatus
{
    /// <summary>Gets the job id (32 lowercase hex).</summary>
    public string JobId { get; init; } = string.Empty;

    /// <summary>Gets the state.</summary>
    public JobState State { get; init; }

    /// <summary>Gets the source path.</summary>
    public string Input { get; init; } = string.Empty;

    /// <summary>Gets the output codec.</summary>
    public string Codec { get; init; } = string.Empty;

    /// <summary>Gets the output width.</summary>
    public int Width { get; init; }

    /// <summary>Gets the output height.</summary>
    public int Height { get; init; }

    /// <summary>Gets the source width.</summary>
    public int SourceWidth { get; init; }

    /// <summary>Gets the source height.</summary>
    public int SourceHeight { get; init; }

    /// <summary>Gets the duration in seconds.</summary>
    public double DurationSeconds { get; init; }

    /// <summary>Gets the number of segments of the whole video.</summary>
    public int SegmentCount { get; init; }

    /// <summary>Gets the nominal segment length.</summary>
    public double SegmentSeconds { get; init; }

    /// <summary>Gets the segment container: ts or mp4.</summary>
    public string SegmentContainer { get; init; } = "ts";

    /// <summary>Gets the number of segments ready.</summary>
    public int SegmentsReady { get; init; }

    /// <summary>Gets the ready segment ranges, inclusive.</summary>
    public IReadOnlyList<IReadOnlyList<int>> ReadyRanges { get; init; } = [];

    /// <summary>Gets the progress, 0 to 1.</summary>
    public double Progress { get; init; }

    /// <summary>Gets the encoding frame rate.</summary>
    public double Fps { get; init; }

    /// <summary>Gets the encoding speed relative to real time.</summary>
    public double Speed { get; init; }

    /// <summary>Gets the encoder position in seconds.</summary>
    public double PositionSeconds { get; init; }

    /// <summary>Gets the estimated seconds left, when known.</summary>
    public double? EtaSeconds { get; init; }

    /// <summary>Gets the RFC 6381 codecs string.</summary>
    public string Codecs { get; init; } = string.Empty;

    /// <summary>Gets the estimated bandwidth in bits per second.</summary>
    public long Bandwidth { get; init; }

    /// <summary>Gets the finished file, once written.</summary>
    public string? FinalPath { get; init; }

    /// <summary>Gets the error of a failed job.</summary>
    public EngineError? Error { get; init; }

    /// <summary>Gets the last segment a viewer asked for.</summary>
    public int? ViewerSegment { get; init; }

    /// <summary>Gets the seconds of ready video ahead of the viewer, when a viewer asked for a segment.</summary>
    public double? RealtimeMarginSeconds { get; init; }

    /// <summary>Gets whether the encoder keeps up with the viewer, once a viewer asked for a segment.</summary>
    public Verdict? Verdict { get; init; }

    /// <summary>Gets the encoder priority: interactive or background.</summary>
    public string? Priority { get; init; }

    /// <summary>Gets the role: upscaled, or lower / fallback for the cheaper rungs of an upscaled job.</summary>
    public JobRole Role { get; init; }

    /// <summary>Gets the encoder preset of the current or last run.</summary>
    public string Preset { get; init; } = string.Empty;

    /// <summary>Gets a value indicating whether the encoder is stopped so that other jobs' viewers get the CPU.</summary>
    public bool Held { get; init; }

    /// <summary>Gets the upscaled job a rung belongs to.</summary>
    public string? ParentJobId { get; init; }

    /// <summary>Gets the cheaper rungs of an upscaled job, best first (the lower target, then the source-size fallback).</summary>
    public IReadOnlyList<LadderRung> Rungs { get; init; } = [];

    /// <summary>Gets the latest adaptations (faster preset, fallback, held), oldest first.</summary>
    public IReadOnlyList<string> Adaptations { get; init; } = [];

    /// <summary>
    /// Gets a value indicating whether the job can be played: done, or still able to produce segments.
    /// A paused job counts: it was found unfinished at engine start, and the start (or the first
    /// segment request) that finds it resumes it where the viewer is.
    /// </summary>
    [JsonIgnore]
    public bool IsUsable => IsActive || State == JobState.Done;

    /// <summary>Gets a value indicating whether the job is not finished yet and can still finish (paused ones too).</summary>
    [JsonIgnore]
    public bool IsActive => State is JobState.Paused or JobState.Queued or JobState.Running or JobState.Finalizing;
}

/// <summary>A cheaper variant of an upscaled job on the same timeline, encoded on demand.</summary>
public sealed record LadderRung
{
    /// <summary>Gets the role: lower (two thirds of the target) or fallback (the source size).</summary>
    public JobRole Role { get; init; }

    /// <summary>Gets its own job id (its playlist and segments are served like any job's).</summary>
    public string JobId { get; init; } = string.Empty;

    /// <summary>Gets the width.</summary>
    public int Width { get; init; }

    /// <summary>Gets the height.</summary>
    public int Height { get; init; }

    /// <summary>Gets the RFC 6381 codecs string.</summary>
    public string Codecs { get; init; } = string.Empty;

    /// <summary>Gets a value indicating whether it copies the source's video (nothing is encoded).</summary>
    public bool StreamCopy { get; init; }

    /// <summary>Gets the estimated bandwidth in bits per second.</summary>
    public long Bandwidth { get; init; }

    /// <summary>Gets the number of its segments that exist.</summary>
    public int SegmentsReady { get; init; }

    /// <summary>Gets a value indicating whether a viewer is on this rung right now.</summary>
    public bool Active { get; init; }
}

/// <summary>A ready segment (<c>jellyscale_wait_segment</c> callback).</summary>
public sealed record SegmentInfo
{
    /// <summary>Gets the segment index.</summary>
    public int Index { get; init; }

    /// <summary>Gets the absolute path of the segment file.</summary>
    public string Path { get; init; } = string.Empty;

    /// <summary>Gets the duration in seconds.</summary>
    public double Duration { get; init; }

    /// <summary>Gets the fMP4 initialization segment, for mp4 containers.</summary>
    public string? InitPath { get; init; }

    /// <summary>Gets the byte offset of the segment inside <see cref="Path"/> (a finished job's segments are ranges of its final file).</summary>
    public long? Offset { get; init; }

    /// <summary>Gets the byte length of the segment inside <see cref="Path"/>.</summary>
    public long? Length { get; init; }

    /// <summary>Gets the byte offset of the initialization segment inside <see cref="InitPath"/>.</summary>
    public long? InitOffset { get; init; }

    /// <summary>Gets the byte length of the initialization segment inside <see cref="InitPath"/>.</summary>
    public long? InitLength { get; init; }
}

/// <summary>Source-generated JSON for the library's snake_case documents.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(EngineConfig))]
[JsonSerializable(typeof(StreamRequest))]
[JsonSerializable(typeof(EngineError))]
[JsonSerializable(typeof(JobStatus))]
[JsonSerializable(typeof(List<JobStatus>))]
[JsonSerializable(typeof(SegmentInfo))]
[JsonSerializable(typeof(CleanupOptions))]
[JsonSerializable(typeof(EngineInfo))]
[JsonSerializable(typeof(CleanupResult))]
public sealed partial class EngineJsonContext : JsonSerializerContext
{
}
