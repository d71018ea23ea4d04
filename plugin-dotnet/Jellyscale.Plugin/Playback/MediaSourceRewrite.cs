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
            audioIsReal ? audio : null);
    }

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
