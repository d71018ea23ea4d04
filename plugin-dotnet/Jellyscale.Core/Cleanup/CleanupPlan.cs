using System;
using System.Collections.Generic;
using System.Linq;

namespace Jellyscale.Core.Cleanup;

/// <summary>A file or job folder the cleanup task may delete.</summary>
/// <param name="Path">Its full path.</param>
/// <param name="SizeBytes">Its size (a folder: the sum of its files).</param>
/// <param name="LastWriteUtc">Its last change.</param>
public sealed record StoredEntry(string Path, long SizeBytes, DateTimeOffset LastWriteUtc);

/// <summary>Chooses what to delete: everything older than the age limit, then the oldest until the total fits the size limit.</summary>
public static class CleanupPlan
{
    /// <summary>Selects entries to delete; protected entries (jobs in use) are never selected and still count toward the size.</summary>
    /// <param name="entries">Everything stored.</param>
    /// <param name="isProtected">True for entries that must stay.</param>
    /// <param name="now">The current time.</param>
    /// <param name="maxAge">Entries older than this go (zero or less: no age limit).</param>
    /// <param name="maxTotalBytes">The size budget (zero or less: no size limit).</param>
    /// <returns>The entries to delete, oldest first.</returns>
    public static IReadOnlyList<StoredEntry> Select(
        IEnumerable<StoredEntry> entries,
        Func<StoredEntry, bool> isProtected,
        DateTimeOffset now,
        TimeSpan maxAge,
        long maxTotalBytes)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(isProtected);
        var all = entries.OrderBy(e => e.LastWriteUtc).ToList();
        var total = all.Sum(e => e.SizeBytes);
        var selected = new List<StoredEntry>();
        foreach (var entry in all)
        {
            if (isProtected(entry))
            {
                continue;
            }

            var tooOld = maxAge > TimeSpan.Zero && now - entry.LastWriteUtc > maxAge;
            var overBudget = maxTotalBytes > 0 && total > maxTotalBytes;
            if (tooOld || overBudget)
            {
                selected.Add(entry);
                total -= entry.SizeBytes;
            }
        }

        return selected;
    }
}
