using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Jellyscale.Core.Cleanup;

/// <summary>Applies <see cref="CleanupPlan"/> to the engine's folders: finished files in the output folder, job folders in the cache.</summary>
public static class StoreCleaner
{
    /// <summary>Deletes what the plan selects; files and folders of active jobs are kept.</summary>
    /// <param name="outputDir">The finished-file folder (files are entries).</param>
    /// <param name="cacheDir">The job cache (each sub-folder is an entry).</param>
    /// <param name="activeJobIds">Jobs in use: a folder or file whose name holds one of these ids is kept.</param>
    /// <param name="activeFinalPaths">Finished files that belong to active jobs.</param>
    /// <param name="now">The current time.</param>
    /// <param name="maxAge">The age limit (zero: none).</param>
    /// <param name="maxTotalBytes">The size budget over both folders (zero: none).</param>
    /// <returns>The deleted paths.</returns>
    public static IReadOnlyList<string> Run(
        string? outputDir,
        string? cacheDir,
        IReadOnlyCollection<string> activeJobIds,
        IReadOnlyCollection<string> activeFinalPaths,
        DateTimeOffset now,
        TimeSpan maxAge,
        long maxTotalBytes)
    {
        ArgumentNullException.ThrowIfNull(activeJobIds);
        ArgumentNullException.ThrowIfNull(activeFinalPaths);
        var entries = new List<StoredEntry>();
        if (outputDir is not null && Directory.Exists(outputDir))
        {
            entries.AddRange(new DirectoryInfo(outputDir).EnumerateFiles()
                .Select(f => new StoredEntry(f.FullName, f.Length, f.LastWriteTimeUtc)));
        }

        if (cacheDir is not null && Directory.Exists(cacheDir))
        {
            foreach (var folder in new DirectoryInfo(cacheDir).EnumerateDirectories())
            {
                var files = folder.EnumerateFiles("*", SearchOption.AllDirectories).ToList();
                var lastWrite = files.Count == 0 ? folder.LastWriteTimeUtc : files.Max(f => f.LastWriteTimeUtc);
                entries.Add(new StoredEntry(folder.FullName, files.Sum(f => f.Length), lastWrite));
            }
        }

        bool IsProtected(StoredEntry entry)
        {
            var name = Path.GetFileName(entry.Path);
            return activeFinalPaths.Contains(entry.Path, StringComparer.Ordinal)
                || activeJobIds.Any(id => name.Contains(id, StringComparison.Ordinal));
        }

        var deleted = new List<string>();
        foreach (var entry in CleanupPlan.Select(entries, IsProtected, now, maxAge, maxTotalBytes))
        {
            if (Directory.Exists(entry.Path))
            {
                Directory.Delete(entry.Path, recursive: true);
            }
            else
            {
                File.Delete(entry.Path);
            }

            deleted.Add(entry.Path);
        }

        return deleted;
    }
}
