using System.Globalization;
using System.Text;
using Jellyscale.Core.Engine;

namespace Jellyscale.Core.Streaming;

/// <summary>Writes the master playlist: the engine's upscaled media playlist, then the job's cheaper rungs.</summary>
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

        // Players start with the first variant: the upscaled one. The cheaper rungs (same
        // timeline) are what their ABR switches to when the encoder cannot keep up.
        Variant(text, status.Bandwidth, status.Width, status.Height, status.Codecs, "main.m3u8", uriQuery);
        foreach (var rung in status.Rungs)
        {
            Variant(text, rung.Bandwidth, rung.Width, rung.Height, rung.Codecs, $"../{rung.JobId}/main.m3u8", uriQuery);
        }

        return text.ToString();
    }

    private static void Variant(StringBuilder text, long bandwidth, int width, int height, string? codecs, string uri, string uriQuery)
    {
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-STREAM-INF:BANDWIDTH={System.Math.Max(1, bandwidth)}");
        if (width > 0 && height > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $",RESOLUTION={width}x{height}");
        }

        if (!string.IsNullOrEmpty(codecs))
        {
            text.Append(CultureInfo.InvariantCulture, $",CODECS=\"{codecs}\"");
        }

        text.Append('\n').Append(uri);
        if (uriQuery.Length > 0)
        {
            text.Append('?').Append(uriQuery);
        }

        text.Append('\n');
    }
}
