using System;
using Jellyscale.Core.Lifetime;
using Jellyscale.Core.Playback;
using MediaBrowser.Model.Plugins;

namespace Jellyscale.Plugin.Configuration;

/// <summary>Where finished upscaled files go.</summary>
public enum OutputLocation
{
    /// <summary>
    /// Only in the finished-files folder (default: under Jellyfin's data folder, since they are kept,
    /// not a cache). The member keeps its first name: saved configurations use it.
    /// </summary>
    CacheFolder,

    /// <summary>Also beside the original, as a Jellyfin version "Name - Upscaled 2160p.ext".</summary>
    BesideOriginal,
}

/// <summary>The plugin's settings, edited on its dashboard page and stored by Jellyfin as XML.</summary>
public class PluginConfiguration : BasePluginConfiguration
{
    /// <summary>Gets or sets a value indicating whether clients are sent the upscaled stream.</summary>
    public bool UseUpscaledStream { get; set; }

    /// <summary>Gets or sets a value indicating whether the toggle applies to every user.</summary>
    public bool ApplyToAllUsers { get; set; } = true;

    /// <summary>Gets or sets the users it applies to when not all (Jellyfin user ids).</summary>
    public string[] UserIds { get; set; } = Array.Empty<string>();

    /// <summary>Gets or sets how the target size is given.</summary>
    public TargetMode TargetMode { get; set; } = TargetMode.Scale;

    /// <summary>Gets or sets the scale factor.</summary>
    public int ScaleFactor { get; set; } = 2;

    /// <summary>Gets or sets the maximum output height (the target in max-height mode, a cap otherwise).</summary>
    public int MaxHeight { get; set; } = 2160;

    /// <summary>Gets or sets the codec policy.</summary>
    public CodecPolicy CodecPolicy { get; set; } = CodecPolicy.FollowClient;

    /// <summary>
    /// Gets or sets a value indicating whether a player that falls back from the upscale gets a copy
    /// of the source (H.264 sources whose keyframes allow it) instead of a fast encode of it. The
    /// first playback of each file then waits (up to 3 s) while the engine reads the whole file
    /// once, and the first segment is longer.
    /// </summary>
    public bool CopySourceAsFallback { get; set; }

    /// <summary>Gets or sets the backend (auto, cpu, nvenc, vaapi, qsv); empty: what Jellyfin's encoding settings use.</summary>
    public string Backend { get; set; } = string.Empty;

    /// <summary>Gets or sets the ffmpeg path; empty: Jellyfin's configured ffmpeg.</summary>
    public string FfmpegPath { get; set; } = string.Empty;

    /// <summary>Gets or sets the ffprobe path; empty: Jellyfin's configured ffprobe.</summary>
    public string FfprobePath { get; set; } = string.Empty;

    /// <summary>Gets or sets the HLS segment length in seconds.</summary>
    public int SegmentSeconds { get; set; } = 4;

    /// <summary>Gets or sets where finished files go.</summary>
    public OutputLocation OutputLocation { get; set; } = OutputLocation.CacheFolder;

    /// <summary>Gets or sets the finished-files folder; empty: <c>jellyscale/upscaled</c> under Jellyfin's data folder (kept files, not a cache).</summary>
    public string OutputDirectory { get; set; } = string.Empty;

    /// <summary>Gets or sets the folder for jobs at work (segments, logs); empty: <c>jellyscale</c> under Jellyfin's cache folder.</summary>
    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>Gets or sets the length of the first segment in seconds (short, so playback starts sooner).</summary>
    public int FirstSegmentSeconds { get; set; } = 1;

    /// <summary>Gets or sets the most jobs waiting for an encoder slot; more starts play the original.</summary>
    public int MaxQueuedJobs { get; set; } = 64;

    /// <summary>Gets or sets the VA-API device; empty: Jellyfin's.</summary>
    public string VaapiDevice { get; set; } = string.Empty;

    /// <summary>Gets or sets the x264/x265 preset of the CPU backend.</summary>
    public string CpuPreset { get; set; } = "veryfast";

    /// <summary>Gets or sets an mpv-style GLSL shader (FSRCNNX, Anime4K) run by libplacebo instead of lanczos; empty: lanczos. CPU and NVENC only.</summary>
    public string ShaderPath { get; set; } = string.Empty;

    /// <summary>Gets or sets the seconds without a segment request after which a job's ffmpeg drops to background priority.</summary>
    public int ViewerIdleSeconds { get; set; } = 60;

    /// <summary>Gets or sets a value indicating whether unfinished jobs continue on their own after a restart (else when next played).</summary>
    public bool ResumeUnfinished { get; set; }

    /// <summary>Gets or sets how long a start with "Fall back to the original" waits for the source's keyframes (seconds).</summary>
    public int KeyframeReadSeconds { get; set; } = 3;

    /// <summary>Gets or sets the number of jobs encoding at once.</summary>
    public int MaxConcurrentJobs { get; set; } = 1;

    /// <summary>Gets or sets the age after which stored files are removed (days, 0: never).</summary>
    public int CleanupMaxAgeDays { get; set; } = 30;

    /// <summary>Gets or sets the total size kept (GB, 0: unlimited).</summary>
    public int CleanupMaxSizeGb { get; set; } = 200;

    /// <summary>Gets or sets what happens to a job nobody watches any more.</summary>
    public IdlePolicy AfterViewerLeaves { get; set; } = IdlePolicy.FinishInBackground;

    /// <summary>Gets or sets how long a job stays hot without pings (seconds).</summary>
    public int IdleTimeoutSeconds { get; set; } = 60;

    /// <summary>Gets or sets how long a segment request waits for the encoder (seconds).</summary>
    public int SegmentWaitSeconds { get; set; } = 60;

    /// <summary>Gets or sets the libraries the pre-upscale task works through (library item ids).</summary>
    public string[] PreUpscaleLibraryIds { get; set; } = Array.Empty<string>();

    /// <summary>Whether the upscaled stream applies to a user.</summary>
    /// <param name="userId">The Jellyfin user id, if known.</param>
    /// <returns>True when the toggle is on for that user.</returns>
    public bool AppliesTo(Guid? userId)
    {
        if (!UseUpscaledStream)
        {
            return false;
        }

        if (ApplyToAllUsers)
        {
            return true;
        }

        if (userId is not { } id || id == Guid.Empty)
        {
            return false;
        }

        foreach (var entry in UserIds)
        {
            if (Guid.TryParse(entry, out var allowed) && allowed == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The target size as the planner takes it.</summary>
    /// <returns>The target.</returns>
    public UpscaleTarget Target() => new(TargetMode, ScaleFactor, MaxHeight);
}
