using System;
using System.IO;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Configuration;

namespace Jellyscale.Plugin.Engine;

/// <summary>What the engine inherits from Jellyfin when the admin left a setting empty.</summary>
/// <param name="DataPath">Jellyfin's data folder.</param>
/// <param name="CachePath">Jellyfin's cache folder.</param>
/// <param name="FfmpegPath">Jellyfin's ffmpeg.</param>
/// <param name="FfprobePath">Jellyfin's ffprobe.</param>
/// <param name="HardwareAcceleration">Jellyfin's hardware acceleration type, as text.</param>
/// <param name="VaapiDevice">Jellyfin's VA-API device.</param>
public sealed record JellyfinDefaults(string DataPath, string CachePath, string? FfmpegPath, string? FfprobePath, string? HardwareAcceleration, string? VaapiDevice);

/// <summary>Builds the engine configuration from the plugin's settings and Jellyfin's own.</summary>
public static class EngineSettings
{
    /// <summary>Builds the configuration.</summary>
    /// <param name="config">The plugin settings.</param>
    /// <param name="jellyfin">Jellyfin's defaults.</param>
    /// <returns>The engine configuration.</returns>
    public static EngineConfig Build(PluginConfiguration config, JellyfinDefaults jellyfin)
    {
        System.ArgumentNullException.ThrowIfNull(config);
        System.ArgumentNullException.ThrowIfNull(jellyfin);
        // Every one of the engine's 17 settings, each from the plugin's page or Jellyfin's own.
        return new EngineConfig
        {
            CacheDir = PathOrDefault(config.CacheDirectory, Path.Combine(jellyfin.CachePath, "jellyscale")),
            OutputDir = PathOrDefault(config.OutputDirectory, Path.Combine(jellyfin.DataPath, "jellyscale", "upscaled")),
            FfmpegPath = PathOrDefault(config.FfmpegPath, jellyfin.FfmpegPath),
            FfprobePath = PathOrDefault(config.FfprobePath, jellyfin.FfprobePath),
            MaxConcurrentJobs = Math.Clamp(config.MaxConcurrentJobs, 1, 16),
            MaxQueuedJobs = Math.Clamp(config.MaxQueuedJobs, 0, 100_000),
            SegmentSeconds = Math.Clamp(config.SegmentSeconds, 1, 30),
            FirstSegmentSeconds = Math.Clamp(config.FirstSegmentSeconds, 1, 30),
            Backend = Backends.Choose(config.Backend, jellyfin.HardwareAcceleration),
            DefaultScale = Math.Clamp(config.ScaleFactor, 1, 8),
            MaxHeight = Math.Clamp(config.MaxHeight, 144, 4320),
            VaapiDevice = PathOrDefault(config.VaapiDevice, jellyfin.VaapiDevice),
            CpuPreset = string.IsNullOrWhiteSpace(config.CpuPreset) ? null : config.CpuPreset.Trim(),
            ShaderPath = PathOrDefault(config.ShaderPath, null),
            ViewerIdleSeconds = Math.Clamp(config.ViewerIdleSeconds, 1, 86_400),
            ResumeUnfinished = config.ResumeUnfinished,
            KeyframeReadSeconds = Math.Clamp(config.KeyframeReadSeconds, 0, 3600),
        };
    }

    /// <summary>The admin's path when set, else Jellyfin's; null when neither is.</summary>
    private static string? PathOrDefault(string? configured, string? fallback)
        => !string.IsNullOrWhiteSpace(configured) ? configured.Trim()
            : !string.IsNullOrWhiteSpace(fallback) ? fallback : null;
}
