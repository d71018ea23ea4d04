using System.Globalization;
using System.Text;
using Jellyscale.Core.Engine;

namespace Jellyscale.Core.Streaming;

/// <summary>Writes the one-variant master playlist that points players at the engine's media playlist.</summary>
public static class MasterPlaylist
{
    /// <summary>Builds the master playlist for a job.</summary>
    /// <param name="status">The job status (size, codecs, bandwidth).</param>
    /// <param name="uriQuery">The query carried to the variant URI (without '?'), or empty.</param>
    /// <returns>The m3u8 text.</returns>
    public static string Build(JobStatus status, string uriQuery)
    {
        System.ArgumentNullException.ThrowIfNull(status);
        System.ArgumentNullException.ThrowIfNull(uriQuery);
        var fmp4 = status.SegmentContainer == "mp4";
        var text = new StringBuilder();
        text.Append("#EXTM3U\n");

        // fMP4 segments need version 7 (EXT-X-MAP in a media playlist without I-frames-only).
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-VERSION:{(fmp4 ? 7 : 3)}\n");
        text.Append("#EXT-X-INDEPENDENT-SEGMENTS\n");
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-STREAM-INF:BANDWIDTH={System.Math.Max(1, status.Bandwidth)}");
        if (status.Width > 0 && status.Height > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $",RESOLUTION={status.Width}x{status.Height}");
        }

        if (!string.IsNullOrEmpty(status.Codecs))
        {
            text.Append(CultureInfo.InvariantCulture, $",CODECS=\"{status.Codecs}\"");
        }

        text.Append('\n');
        text.Append("main.m3u8");
        if (uriQuery.Length > 0)
        {
            text.Append('?').Append(uriQuery);
        }

        text.Append('\n');
        return text.ToString();
    }
}
