using System;
using System.Linq;
using Jellyfin.Data.Enums;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Playback;
using MediaBrowser.Model.Dto;
using MediaBrowser.Model.Entities;
using MediaBrowser.Model.MediaInfo;

namespace Jellyscale.Plugin.Playback;

/// <summary>The Jellyfin-facing half of the rewrite: facts out of a MediaSourceInfo, and the in-place change.</summary>
internal static class MediaSourceRewrite
{
    /// <summary>Reads what the planner needs.</summary>
    /// <param name="source">The source.</param>
    /// <param name="audioStreamIndex">The audio stream the client asked for, if any.</param>
    /// <returns>The facts.</returns>
    public static SourceFacts Facts(MediaSourceInfo source, int? audioStreamIndex)
    {
        var streams = source.MediaStreams ?? Enumerable.Empty<MediaStream>();
        var video = streams.FirstOrDefault(s => s.Type == MediaStreamType.Video && !s.IsExternal);
        var audio = audioStreamIndex ?? source.DefaultAudioStreamIndex;
        var audioIsReal = audio is { } index && streams.Any(s => s.Type == MediaStreamType.Audio && s.Index == index && !s.IsExternal);
        return new SourceFacts(
            source.Protocol == MediaProtocol.File && !source.IsRemote,
            source.Path,
            source.IsInfiniteStream,
            video?.Height,
            audioIsReal ? audio : null,
            Describe(source));
    }

    /// <summary>
    /// Describes the source as the engine's own probe would (first video stream, upright size, average
    /// frame rate, bit depth from the pixel format), from what Jellyfin's probe stored. The engine can
    /// then start encoding without running ffprobe first; it still checks this. Null when Jellyfin lacks
    /// a value the engine plans from, and for interlaced or anamorphic video: Jellyfin keeps no field
    /// order or pixel aspect (it calls an unknown field order interlaced), and the engine's own probe
    /// decides the deinterlacer and the square-pixel size.
    /// </summary>
    /// <param name="source">The source.</param>
    /// <returns>The description, or null.</returns>
    public static SourceMedia? Describe(MediaSourceInfo source)
    {
        var streams = source.MediaStreams ?? Array.Empty<MediaStream>();
        var video = streams.FirstOrDefault(s => s.Type == MediaStreamType.Video && !s.IsExternal);
        var fps = video?.AverageFrameRate is > 0 and < 1000 ? video.AverageFrameRate : video?.RealFrameRate;
        if (video is not { Width: >= 2, Height: >= 2, Codec.Length: > 0, IsInterlaced: false, IsAnamorphic: not true } || source.RunTimeTicks is not > 0 || fps is not (> 0 and < 1000))
        {
            return null;
        }

        var upright = Math.Abs(video.Rotation ?? 0) % 180 == 90;
        return new SourceMedia
        {
            Duration = TimeSpan.FromTicks(source.RunTimeTicks.Value).TotalSeconds,
            Width = upright ? video.Height.Value : video.Width.Value,
            Height = upright ? video.Width.Value : video.Height.Value,
            Fps = fps.Value,
            VideoCodec = video.Codec,
            BitDepth = BitDepth(video),
            VideoIndex = video.Index,
            Audio = streams
                .Where(s => s.Type == MediaStreamType.Audio && !s.IsExternal)
                .Select(s => new SourceAudio { Index = s.Index, Codec = s.Codec ?? string.Empty, Channels = Math.Clamp(s.Channels ?? 2, 1, 8), SampleRate = s.SampleRate ?? 48000 })
                .ToArray(),
        };
    }

    /// <summary>The engine reads the bit depth off the pixel format (yuv420p10le is 10); Jellyfin's own figure when it has none.</summary>
    private static int BitDepth(MediaStream video) => video.PixelFormat switch
    {
        { } f when f.Contains("p12", StringComparison.Ordinal) || f.Contains("p012", StringComparison.Ordinal) => 12,
        { } f when f.Contains("p10", StringComparison.Ordinal) || f.Contains("p010", StringComparison.Ordinal) => 10,
        { } => 8,
        null => video.BitDepth ?? 8,
    };

    /// <summary>
    /// Points the source at the upscaled HLS stream. Id, ETag, MediaStreams and RunTimeTicks stay, so
    /// the client keeps its track lists, resume position and reporting exactly as before.
    /// </summary>
    /// <param name="source">The source to change.</param>
    /// <param name="job">The job.</param>
    /// <param name="transcodingUrl">The server-relative master playlist URL.</param>
    public static void Apply(MediaSourceInfo source, JobStatus job, string transcodingUrl)
    {
        source.SupportsDirectPlay = false;
        source.SupportsDirectStream = false;
        source.SupportsTranscoding = true;
        source.TranscodingSubProtocol = MediaStreamProtocol.hls;
        source.TranscodingContainer = job.SegmentContainer;
        source.TranscodingUrl = transcodingUrl;
    }
}
