using System.Collections.Generic;
using Jellyscale.Core.Playback;
using Xunit;

namespace Jellyscale.Tests.Core;

public class PlaybackRulesTests
{
    private static readonly ClientFormat ChromiumHls = new(true, true, "ts", "h264");
    private static readonly ClientFormat HevcFmp4Hls = new(true, true, "mp4", "hevc,h264");

    [Fact]
    public void Chromium_profile_without_hevc_gets_h264_in_ts()
        => Assert.Equal(OutputFormat.H264, CodecChoice.Choose(new[] { ChromiumHls }, CodecPolicy.FollowClient, hevcHardware: true));

    [Fact]
    public void Profile_with_hevc_over_hls_fmp4_gets_hevc_in_mp4()
        => Assert.Equal(OutputFormat.Hevc, CodecChoice.Choose(new[] { ChromiumHls, HevcFmp4Hls }, CodecPolicy.FollowClient, hevcHardware: true));

    [Fact]
    public void Without_a_hardware_hevc_encoder_a_client_that_plays_h264_gets_h264()
        => Assert.Equal(OutputFormat.H264, CodecChoice.Choose(new[] { ChromiumHls, HevcFmp4Hls }, CodecPolicy.FollowClient, hevcHardware: false));

    [Fact]
    public void Without_a_hardware_hevc_encoder_a_client_that_plays_only_hevc_still_gets_hevc()
        => Assert.Equal(OutputFormat.Hevc, CodecChoice.Choose(new[] { new ClientFormat(true, true, "mp4", "hevc") }, CodecPolicy.FollowClient, hevcHardware: false));

    [Fact]
    public void Hevc_in_a_ts_hls_profile_is_not_enough_for_hevc()
        => Assert.Equal(OutputFormat.H264, CodecChoice.Choose(new[] { new ClientFormat(true, true, "ts", "hevc,h264") }, CodecPolicy.FollowClient, hevcHardware: true));

    [Fact]
    public void Always_h264_policy_overrides_an_hevc_profile()
        => Assert.Equal(OutputFormat.H264, CodecChoice.Choose(new[] { HevcFmp4Hls }, CodecPolicy.AlwaysH264, hevcHardware: true));

    [Fact]
    public void No_profile_means_h264()
        => Assert.Equal(OutputFormat.H264, CodecChoice.Choose(null, CodecPolicy.FollowClient, hevcHardware: true));

    [Fact]
    public void Profile_without_any_hls_video_format_gets_nothing()
    {
        var profile = new List<ClientFormat> { new(true, false, "mp4", "h264"), new(false, true, "ts", null) };
        Assert.Null(CodecChoice.Choose(profile, CodecPolicy.FollowClient, hevcHardware: true));
    }

    [Theory]
    [InlineData(TargetMode.Scale, 2, 2160, 1080, 2160)]
    [InlineData(TargetMode.Scale, 2, 2160, 480, 960)]
    [InlineData(TargetMode.Scale, 2, 2160, 1440, 2160)]
    [InlineData(TargetMode.Scale, 3, 2160, 361, 1082)]
    [InlineData(TargetMode.MaxHeight, 2, 1440, 720, 1440)]
    public void Output_height_follows_mode_cap_and_stays_even(TargetMode mode, int factor, int max, int source, int expected)
        => Assert.Equal(expected, new UpscaleTarget(mode, factor, max).OutputHeight(source));

    [Fact]
    public void Planner_requests_scale_cap_codec_input_and_audio()
    {
        var request = UpscalePlanner.Plan(new SourceFacts(true, "/m/a.mkv", false, 1080, 1), new UpscaleTarget(TargetMode.Scale, 2, 2160), OutputFormat.H264);
        Assert.NotNull(request);
        Assert.Equal("/m/a.mkv", request.Input);
        Assert.Equal("h264", request.Codec);
        Assert.Equal(2, request.Scale);
        Assert.Equal(2160, request.MaxHeight);
        Assert.Equal(1, request.AudioStream);
    }

    [Fact]
    public void Planner_sends_the_start_position_as_seconds_for_the_engine_to_place()
    {
        var source = new SourceFacts(true, "/m/a.mkv", false, 1080, null);
        var target = new UpscaleTarget(TargetMode.Scale, 2, 2160);
        var resumed = UpscalePlanner.Plan(source, target, OutputFormat.H264, System.TimeSpan.FromSeconds(61.5))!;
        Assert.Equal(61.5, resumed.StartSeconds);
        Assert.Null(resumed.StartSegment);
        Assert.Null(UpscalePlanner.Plan(source, target, OutputFormat.H264)!.StartSeconds);
    }

    [Fact]
    public void Planner_asks_for_a_copying_fallback_only_when_allowed_and_the_output_is_h264()
    {
        var source = new SourceFacts(true, "/m/a.mkv", false, 1080, null);
        var target = new UpscaleTarget(TargetMode.Scale, 2, 2160);
        Assert.True(UpscalePlanner.Plan(source, target, OutputFormat.H264, copySource: true)!.CopyFallback);
        Assert.False(UpscalePlanner.Plan(source, target, OutputFormat.Hevc, copySource: true)!.CopyFallback);
        Assert.False(UpscalePlanner.Plan(source, target, OutputFormat.H264)!.CopyFallback);
    }

    [Fact]
    public void Planner_in_max_height_mode_sends_no_scale()
        => Assert.Null(UpscalePlanner.Plan(new SourceFacts(true, "/m/a.mkv", false, 720, null), new UpscaleTarget(TargetMode.MaxHeight, 2, 1440), OutputFormat.H264)!.Scale);

    [Theory]
    [InlineData(false, "/m/a.mkv", false, 1080)]
    [InlineData(true, null, false, 1080)]
    [InlineData(true, "/m/a.mkv", true, 1080)]
    [InlineData(true, "/m/a.mkv", false, null)]
    [InlineData(true, "/m/a.mkv", false, 2160)]
    [InlineData(true, "/m/a.mkv", false, 2400)]
    public void Planner_skips_remote_live_audio_only_and_already_big_sources(bool local, string? path, bool infinite, int? height)
        => Assert.Null(UpscalePlanner.Plan(new SourceFacts(local, path, infinite, height, null), new UpscaleTarget(TargetMode.Scale, 2, 2160), OutputFormat.H264));
}
