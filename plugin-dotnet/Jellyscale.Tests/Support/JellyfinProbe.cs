using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using MediaBrowser.Model.Entities;

namespace Jellyscale.Tests.Support;

/// <summary>
/// What Jellyfin's library scan stores about a file: its ffprobe output turned into MediaStreams and
/// RunTimeTicks the way Jellyfin's ProbeResultNormalizer maps them (codec_name, coded size, pix_fmt,
/// bits_per_raw_sample, both frame rates as floats, display-matrix rotation, channels, sample rate,
/// attached pictures as embedded images, format duration in ticks).
/// </summary>
public static class JellyfinProbe
{
    /// <summary>Probes a file and returns its streams and run time as Jellyfin would store them.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The streams and RunTimeTicks.</returns>
    public static async Task<(IReadOnlyList<MediaStream> Streams, long RunTimeTicks)> ProbeAsync(string path)
    {
        var (code, stdout, stderr) = await Prerequisites.RunAsync(
            Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path);
        Prerequisites.Require(code == 0, $"ffprobe {path}: {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        var streams = doc.RootElement.GetProperty("streams").EnumerateArray().Select(Stream).ToList();
        var seconds = double.Parse(doc.RootElement.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
        return (streams, TimeSpan.FromSeconds(seconds).Ticks);
    }

    private static MediaStream Stream(JsonElement s)
    {
        var attachedPic = s.TryGetProperty("disposition", out var d) && d.TryGetProperty("attached_pic", out var a) && a.GetInt32() == 1;
        var type = Text(s, "codec_type") switch
        {
            "video" when attachedPic => MediaStreamType.EmbeddedImage,
            "video" => MediaStreamType.Video,
            "audio" => MediaStreamType.Audio,
            _ => MediaStreamType.Subtitle,
        };
        return new MediaStream
        {
            Type = type,
            Index = s.GetProperty("index").GetInt32(),
            Codec = Text(s, "codec_name"),
            Width = Int(s, "width"),
            Height = Int(s, "height"),
            PixelFormat = Text(s, "pix_fmt"),
            BitDepth = Int(s, "bits_per_raw_sample"),
            AverageFrameRate = Rate(Text(s, "avg_frame_rate")),
            RealFrameRate = Rate(Text(s, "r_frame_rate")),
            Rotation = s.TryGetProperty("side_data_list", out var sd)
                ? sd.EnumerateArray().Where(x => x.TryGetProperty("rotation", out _)).Select(x => (int?)x.GetProperty("rotation").GetInt32()).FirstOrDefault()
                : null,
            IsInterlaced = Text(s, "field_order") is { Length: > 0 } order && order != "progressive",
            IsAnamorphic = Text(s, "sample_aspect_ratio") is { } sar ? sar is not ("1:1" or "0:1") : null,
            Channels = Int(s, "channels"),
            SampleRate = Int(s, "sample_rate"),
        };
    }

    private static string? Text(JsonElement s, string name) => s.TryGetProperty(name, out var v) ? v.ToString() : null;

    private static int? Int(JsonElement s, string name) => int.TryParse(Text(s, name), CultureInfo.InvariantCulture, out var v) ? v : null;

    private static float? Rate(string? text)
    {
        var parts = text?.Split('/');
        return parts is [var n, var q] && float.TryParse(n, CultureInfo.InvariantCulture, out var num) && float.TryParse(q, CultureInfo.InvariantCulture, out var den) && den > 0 && num > 0
            ? num / den
            : null;
    }
}
