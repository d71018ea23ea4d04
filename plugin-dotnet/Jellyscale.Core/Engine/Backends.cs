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
}
