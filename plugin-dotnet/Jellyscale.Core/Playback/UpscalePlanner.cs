using Jellyscale.Core.Engine;

namespace Jellyscale.Core.Playback;

/// <summary>Decides whether a source is worth upscaling and builds the engine request.</summary>
public static class UpscalePlanner
{
    /// <summary>Builds the start_stream request, or null when upscaling is pointless or impossible.</summary>
    /// <param name="source">The source.</param>
    /// <param name="target">The target size.</param>
    /// <param name="format">The chosen output format.</param>
    /// <param name="start">Where playback starts (a resume point), so the encoder starts there too: sent
    /// as seconds, the engine picks the segment on its own timeline (short first segment, keyframe cuts).</param>
    /// <param name="copySource">Whether the admin lets the fallback variant be a copy of the source
    /// (the client plays H.264 when the output is H.264, and the engine copies only H.264).</param>
    /// <returns>The request, or null.</returns>
    public static StreamRequest? Plan(SourceFacts source, UpscaleTarget target, OutputFormat format, System.TimeSpan start = default, bool copySource = false)
    {
        System.ArgumentNullException.ThrowIfNull(source);
        System.ArgumentNullException.ThrowIfNull(target);
        System.ArgumentNullException.ThrowIfNull(format);

        // Live TV, remote URLs and audio-only items have nothing the engine can read or scale.
        if (!source.IsLocalFile || source.IsInfinite || string.IsNullOrEmpty(source.Path)
            || source.VideoHeight is not > 0)
        {
            return null;
        }

        var height = source.VideoHeight.Value;
        if (target.OutputHeight(height) <= height)
        {
            return null;
        }

        return new StreamRequest
        {
            Input = source.Path,
            Codec = format.Codec,
            Scale = target.Mode == TargetMode.Scale ? target.ScaleFactor : null,
            MaxHeight = target.MaxHeight,
            AudioStream = source.AudioStreamIndex,
            StartSeconds = start > System.TimeSpan.Zero ? start.TotalSeconds : null,
            Media = source.Media,
            CopyFallback = copySource && format == OutputFormat.H264,
        };
    }
}
