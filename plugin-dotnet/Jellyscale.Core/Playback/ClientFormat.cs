namespace Jellyscale.Core.Playback;

/// <summary>One entry of a client's device profile, reduced to what codec choice needs.</summary>
/// <param name="IsVideo">Whether the entry is for video.</param>
/// <param name="IsHls">Whether it is an HLS transcoding target.</param>
/// <param name="Container">The container list, e.g. "ts" or "mp4".</param>
/// <param name="VideoCodecs">The comma-separated video codec list.</param>
public sealed record ClientFormat(bool IsVideo, bool IsHls, string? Container, string? VideoCodecs);
