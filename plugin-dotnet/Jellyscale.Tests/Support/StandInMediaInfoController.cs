using System;
using System.Collections.Generic;
using Jellyfin.Data.Enums;
using MediaBrowser.Model.Dlna;
using MediaBrowser.Model.Dto;
using MediaBrowser.Model.Entities;
using MediaBrowser.Model.MediaInfo;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Jellyscale.Tests.Support;

/// <summary>The body of Jellyfin's POST PlaybackInfo (Jellyfin.Api PlaybackInfoDto, the members clients send most).</summary>
public sealed class PlaybackInfoDto
{
    public Guid? UserId { get; set; }

    public long? MaxStreamingBitrate { get; set; }

    public int? AudioStreamIndex { get; set; }

    public string? MediaSourceId { get; set; }

    public DeviceProfile? DeviceProfile { get; set; }

    public bool? EnableDirectPlay { get; set; }

    public bool? EnableDirectStream { get; set; }

    public bool? EnableTranscoding { get; set; }

    public bool? AutoOpenLiveStream { get; set; }
}

/// <summary>What the stand-in library answers for its one item.</summary>
public sealed class StandInLibrary
{
    public string Path { get; set; } = "/media/Movies/Film (2020)/Film (2020).mkv";

    public int Height { get; set; } = 1080;

    public string? ExtraVersionPath { get; set; }

    /// <summary>Gets or sets what Jellyfin's probe stored about <see cref="Path"/> (see <see cref="JellyfinProbe"/>), instead of placeholders.</summary>
    public (IReadOnlyList<MediaStream> Streams, long RunTimeTicks)? Probed { get; set; }

    public PlaybackInfoResponse Build()
    {
        var main = Source("5f0c2a9e1b3d4c6e8f0a1b2c3d4e5f60", Path, Height);
        if (Probed is var (streams, ticks))
        {
            main.MediaStreams = streams;
            main.RunTimeTicks = ticks;
        }

        var sources = new List<MediaSourceInfo> { main };
        if (ExtraVersionPath is not null)
        {
            sources.Add(Source("6f0c2a9e1b3d4c6e8f0a1b2c3d4e5f61", ExtraVersionPath, 2160));
        }

        return new PlaybackInfoResponse { MediaSources = sources, PlaySessionId = "b4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5" };
    }

    private static MediaSourceInfo Source(string id, string path, int height) => new()
    {
        Protocol = MediaProtocol.File,
        Id = id,
        Path = path,
        Container = "mkv",
        Name = System.IO.Path.GetFileNameWithoutExtension(path),
        ETag = "e7a9c0d5b3f14e2a8c6d0f1b2a3c4d5e",
        RunTimeTicks = 200_000_000,
        SupportsDirectPlay = true,
        SupportsDirectStream = true,
        SupportsTranscoding = true,
        Bitrate = 8_000_000,
        DefaultAudioStreamIndex = 1,
        TranscodingSubProtocol = MediaStreamProtocol.http,
        MediaStreams = new List<MediaStream>
        {
            new() { Type = MediaStreamType.Video, Index = 0, Codec = "h264", Width = height * 16 / 9, Height = height, IsDefault = true },
            new() { Type = MediaStreamType.Audio, Index = 1, Codec = "aac", IsDefault = true },
            new() { Type = MediaStreamType.Audio, Index = 2, Codec = "ac3" },
            new() { Type = MediaStreamType.Subtitle, Index = 3, Codec = "subrip" },
        },
    };
}

/// <summary>Stands in for Jellyfin's MediaInfoController: same controller and action names, same routes.</summary>
[ApiController]
[Authorize]
public sealed class MediaInfoController : ControllerBase
{
    private readonly StandInLibrary _library;

    public MediaInfoController(StandInLibrary library)
    {
        _library = library;
    }

    [HttpGet("Items/{itemId}/PlaybackInfo")]
    public ActionResult<PlaybackInfoResponse> GetPlaybackInfo([FromRoute] Guid itemId, [FromQuery] Guid? userId)
        => _library.Build();

    [HttpPost("Items/{itemId}/PlaybackInfo")]
    public ActionResult<PlaybackInfoResponse> GetPostedPlaybackInfo(
        [FromRoute] Guid itemId,
        [FromQuery] Guid? userId,
        [FromQuery] int? audioStreamIndex,
        [FromQuery] bool? enableTranscoding,
        [FromQuery] long? startTimeTicks,
        [FromBody] PlaybackInfoDto? playbackInfoDto)
        => _library.Build();
}
