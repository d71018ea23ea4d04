using System;
using System.Linq;
using Jellyscale.Plugin.Playback;
using MediaBrowser.Model.Dto;
using MediaBrowser.Model.Entities;
using Xunit;

namespace Jellyscale.Tests.Plugin;

/// <summary>The source described from Jellyfin's MediaStreams, so the engine need not run ffprobe before it starts.</summary>
public sealed class SourceDescriptionTests
{
    internal static MediaSourceInfo Source(long? ticks, params MediaStream[] streams) => new() { Path = "/m/a.mkv", RunTimeTicks = ticks, MediaStreams = streams };

    internal static MediaStream Video(int index = 0, int? width = 1920, int? height = 1080, float? avg = 23.976f, float? real = 23.976f) => new()
    {
        Type = MediaStreamType.Video,
        Index = index,
        Codec = "hevc",
        Width = width,
        Height = height,
        AverageFrameRate = avg,
        RealFrameRate = real,
        PixelFormat = "yuv420p10le",
        BitDepth = 10,
    };

    [Fact]
    public void Describes_the_first_video_stream_at_its_average_rate_and_every_audio_stream()
    {
        var cover = new MediaStream { Type = MediaStreamType.EmbeddedImage, Index = 0, Codec = "mjpeg", Width = 600, Height = 600 };
        var media = MediaSourceRewrite.Describe(Source(
            72_000_000_000,
            cover,
            Video(index: 1, avg: 23.976f, real: 24f),
            new MediaStream { Type = MediaStreamType.Audio, Index = 2, Codec = "eac3", Channels = 6, SampleRate = 48000 },
            new MediaStream { Type = MediaStreamType.Audio, Index = 3, Codec = "aac" },
            new MediaStream { Type = MediaStreamType.Audio, Index = 4, Codec = "aac", IsExternal = true },
            new MediaStream { Type = MediaStreamType.Subtitle, Index = 5, Codec = "subrip" }))!;

        Assert.Equal((7200.0, 1920, 1080, "hevc", 10, 1), (media.Duration, media.Width, media.Height, media.VideoCodec, media.BitDepth, media.VideoIndex));
        Assert.Equal(23.976, media.Fps, 3);
        Assert.Equal(
            new[] { (2, "eac3", 6, 48000), (3, "aac", 2, 48000) },
            media.Audio.Select(a => (a.Index, a.Codec, a.Channels, a.SampleRate)));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, null)]
    [InlineData(false, false)]
    public void Interlaced_or_anamorphic_video_is_left_to_the_engines_own_probe(bool interlaced, bool? anamorphic)
    {
        var video = Video();
        video.IsInterlaced = interlaced;
        video.IsAnamorphic = anamorphic;
        var media = MediaSourceRewrite.Describe(Source(10_000_000, video));
        Assert.Equal(!interlaced && anamorphic != true, media is not null);
    }

    [Theory]
    [InlineData(90, 1080, 1920)]
    [InlineData(-90, 1080, 1920)]
    [InlineData(270, 1080, 1920)]
    [InlineData(180, 1920, 1080)]
    public void Rotated_video_is_described_upright_as_ffmpeg_decodes_it(int rotation, int width, int height)
    {
        var video = Video();
        video.Rotation = rotation;
        var media = MediaSourceRewrite.Describe(Source(10_000_000, video))!;
        Assert.Equal((width, height), (media.Width, media.Height));
    }

    [Theory]
    [InlineData("yuv420p", 10, 8)]
    [InlineData("yuv420p10le", 8, 10)]
    [InlineData("p010le", 8, 10)]
    [InlineData("yuv422p12le", 8, 12)]
    [InlineData(null, 10, 10)]
    public void Bit_depth_comes_from_the_pixel_format_as_in_the_engine(string? pixelFormat, int jellyfinDepth, int expected)
    {
        var video = Video();
        video.PixelFormat = pixelFormat;
        video.BitDepth = jellyfinDepth;
        Assert.Equal(expected, MediaSourceRewrite.Describe(Source(10_000_000, video))!.BitDepth);
    }

    public static TheoryData<MediaSourceInfo> Undescribable => new()
    {
        Source(null, Video()),
        Source(0, Video()),
        Source(10_000_000, Video(avg: null, real: null)),
        Source(10_000_000, Video(avg: 0f, real: 0f)),
        Source(10_000_000, Video(width: null)),
        Source(10_000_000, Video(height: 1)),
        Source(10_000_000, new MediaStream { Type = MediaStreamType.Audio, Index = 0, Codec = "aac" }),
    };

    [Theory]
    [MemberData(nameof(Undescribable))]
    public void Without_a_run_time_frame_rate_size_or_video_stream_the_engine_probes_itself(MediaSourceInfo source)
        => Assert.Null(MediaSourceRewrite.Describe(source));

    [Fact]
    public void A_missing_average_rate_falls_back_to_the_real_rate()
        => Assert.Equal(25.0, MediaSourceRewrite.Describe(Source(10_000_000, Video(avg: null, real: 25f)))!.Fps);
}
