using Jellyscale.Core.Engine;

namespace Jellyscale.Core.Playback;

/// <summary>What the planner needs to know about a media source, taken from Jellyfin's MediaSourceInfo.</summary>
/// <param name="IsLocalFile">Whether the source is a file on this server.</param>
/// <param name="Path">The file path.</param>
/// <param name="IsInfinite">Whether the source is a live stream.</param>
/// <param name="VideoHeight">The first video stream's height, if any.</param>
/// <param name="AudioStreamIndex">The absolute index of the audio stream to play, if any.</param>
/// <param name="Media">The source as Jellyfin probed it, when it knows everything the engine plans from.</param>
public sealed record SourceFacts(bool IsLocalFile, string? Path, bool IsInfinite, int? VideoHeight, int? AudioStreamIndex, SourceMedia? Media = null);
