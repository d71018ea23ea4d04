using System;

namespace Jellyscale.Core.Engine;

/// <summary>Maps backend settings to the engine's backend names.</summary>
public static class Backends
{
    /// <summary>
    /// The admin's explicit choice wins; otherwise Jellyfin's hardware acceleration setting picks the
    /// backend the engine has (nvenc, vaapi, qsv), and everything else (none, amf, videotoolbox, ...) is cpu.
    /// </summary>
    /// <param name="configured">The plugin setting (empty: follow Jellyfin).</param>
    /// <param name="jellyfinHardwareAcceleration">Jellyfin's HardwareAccelerationType as text.</param>
    /// <returns>auto, cpu, nvenc, vaapi or qsv.</returns>
    public static string Choose(string? configured, string? jellyfinHardwareAcceleration)
    {
        var explicitChoice = configured?.Trim().ToLowerInvariant();
        if (explicitChoice is "auto" or "cpu" or "nvenc" or "vaapi" or "qsv")
        {
            return explicitChoice;
        }

        return jellyfinHardwareAcceleration?.Trim().ToLowerInvariant() switch
        {
            "nvenc" => "nvenc",
            "vaapi" => "vaapi",
            "qsv" => "qsv",
            _ => "cpu",
        };
    }

    /// <summary>The first non-empty path.</summary>
    /// <param name="configured">The plugin setting.</param>
    /// <param name="fallback">Jellyfin's path.</param>
    /// <returns>The path, or null when neither is set.</returns>
    public static string? PathOrDefault(string? configured, string? fallback)
        => !string.IsNullOrWhiteSpace(configured) ? configured.Trim()
            : !string.IsNullOrWhiteSpace(fallback) ? fallback : null;

    /// <summary>Guards against settings a user typed as 0 or negative.</summary>
    /// <param name="value">The value.</param>
    /// <param name="min">The minimum.</param>
    /// <param name="max">The maximum.</param>
    /// <returns>The clamped value.</returns>
    public static int Clamp(int value, int min, int max) => Math.Clamp(value, min, max);
}
