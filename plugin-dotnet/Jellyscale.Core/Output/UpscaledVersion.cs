using System;
using System.IO;

namespace Jellyscale.Core.Output;

/// <summary>Names and places a finished file beside its original so Jellyfin groups it as a version.</summary>
public static class UpscaledVersion
{
    /// <summary>"Movie (2020).mkv" at 2160 lines, final file ".mkv" -> "Movie (2020) - Upscaled 2160p.mkv" in the same folder.</summary>
    /// <param name="originalPath">The original's path.</param>
    /// <param name="height">The output height.</param>
    /// <param name="finalPath">The finished file (its extension is kept).</param>
    /// <returns>The version's path.</returns>
    public static string PathFor(string originalPath, int height, string finalPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(originalPath);
        ArgumentException.ThrowIfNullOrEmpty(finalPath);
        var folder = Path.GetDirectoryName(originalPath) ?? string.Empty;
        var name = Path.GetFileNameWithoutExtension(originalPath);
        return Path.Combine(folder, $"{name} - Upscaled {height}p{Path.GetExtension(finalPath)}");
    }

    /// <summary>Whether <paramref name="candidatePath"/> is an upscaled version of <paramref name="originalPath"/>.</summary>
    /// <param name="candidatePath">The candidate.</param>
    /// <param name="originalPath">The original.</param>
    /// <returns>True for "Name - Upscaled NNNp.ext" in the same folder.</returns>
    public static bool IsVersionOf(string? candidatePath, string? originalPath)
    {
        if (string.IsNullOrEmpty(candidatePath) || string.IsNullOrEmpty(originalPath))
        {
            return false;
        }

        var sameFolder = string.Equals(Path.GetDirectoryName(candidatePath), Path.GetDirectoryName(originalPath), StringComparison.Ordinal);
        var prefix = Path.GetFileNameWithoutExtension(originalPath) + " - Upscaled ";
        var candidate = Path.GetFileNameWithoutExtension(candidatePath);
        return sameFolder
            && candidate.StartsWith(prefix, StringComparison.Ordinal)
            && candidate.EndsWith('p')
            && candidate.Length > prefix.Length + 1
            && int.TryParse(candidate.AsSpan(prefix.Length, candidate.Length - prefix.Length - 1), out _);
    }

    /// <summary>Copies the finished file beside the original; it appears complete or not at all (temp name, then rename).</summary>
    /// <param name="finalPath">The finished file.</param>
    /// <param name="versionPath">Where it goes.</param>
    /// <returns>False when the version already exists.</returns>
    public static bool Publish(string finalPath, string versionPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(finalPath);
        ArgumentException.ThrowIfNullOrEmpty(versionPath);
        if (File.Exists(versionPath))
        {
            return false;
        }

        // A leading dot keeps Jellyfin's library scan away from the half-copied file.
        var temp = Path.Combine(Path.GetDirectoryName(versionPath) ?? ".", "." + Path.GetFileName(versionPath) + ".jellyscale-tmp");
        try
        {
            File.Copy(finalPath, temp, overwrite: true);
            File.Move(temp, versionPath, overwrite: false);
            return true;
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
