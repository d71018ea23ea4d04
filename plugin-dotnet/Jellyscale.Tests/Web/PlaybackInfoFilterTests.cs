using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text;
using System.Threading.Tasks;
using Jellyfin.Data.Enums;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Core.Playback;
using Jellyscale.Tests.Support;
using MediaBrowser.Model.Entities;
using MediaBrowser.Model.MediaInfo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Xunit;

namespace Jellyscale.Tests.Web;

public sealed class PlaybackInfoFilterTests : IAsyncLifetime
{
    // Trimmed from what jellyfin-web posts in Chromium: HLS in MPEG-TS with H.264 only (no HEVC in MSE).
    private const string ChromiumProfile = """
        {"DeviceProfile":{"MaxStreamingBitrate":120000000,"MaxStaticBitrate":100000000,
         "DirectPlayProfiles":[{"Container":"webm","Type":"Video","VideoCodec":"vp8,vp9,av1","AudioCodec":"vorbis,opus"},
                               {"Container":"mp4,m4v","Type":"Video","VideoCodec":"h264,vp9,av1","AudioCodec":"aac,mp3,opus,flac"}],
         "TranscodingProfiles":[{"Container":"ts","Type":"Audio","AudioCodec":"aac","Context":"Streaming","Protocol":"hls","MaxAudioChannels":"2","MinSegments":"1","BreakOnNonKeyFrames":true},
                                {"Container":"ts","Type":"Video","AudioCodec":"aac,mp3","VideoCodec":"h264","Context":"Streaming","Protocol":"hls","MaxAudioChannels":"2","MinSegments":"1","BreakOnNonKeyFrames":true}],
         "CodecProfiles":[],"SubtitleProfiles":[{"Format":"vtt","Method":"External"}]},
         "MaxStreamingBitrate":120000000,"AutoOpenLiveStream":true}
        """;

    // A client whose profile takes HEVC over HLS in fMP4 (e.g. Safari, Swiftfin, Android TV with HEVC decode).
    private const string HevcProfile = """
        {"DeviceProfile":{"TranscodingProfiles":[
            {"Container":"mp4","Type":"Video","AudioCodec":"aac,ac3","VideoCodec":"hevc,h264","Context":"Streaming","Protocol":"hls"},
            {"Container":"ts","Type":"Video","AudioCodec":"aac","VideoCodec":"h264","Context":"Streaming","Protocol":"hls"}]}}
        """;

    private readonly FakeEngine _engine = new();
    private readonly TestConfigurationAccessor _configuration = new();
    private readonly StandInLibrary _library = new();
    private WebApplication? _app;
    private HttpClient? _client;

    public async Task InitializeAsync()
    {
        _app = await PluginHost.StartAsync(_engine, _configuration, _library);
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_engine_request_describes_the_source_from_jellyfins_media_streams()
    {
        // Placeholder streams without frame rates: no description, the engine probes itself.
        await Post(ChromiumProfile);
        Assert.Null(Assert.Single(_engine.Requests).Media);

        _library.Probed = (
            new List<MediaStream>
            {
                new() { Type = MediaStreamType.Video, Index = 0, Codec = "h264", Width = 1920, Height = 1080, AverageFrameRate = 25f, PixelFormat = "yuv420p" },
                new() { Type = MediaStreamType.Audio, Index = 1, Codec = "aac", Channels = 2, SampleRate = 44100 },
            },
            36_000_000_000);
        await Post(ChromiumProfile);
        var media = _engine.Requests.Last().Media!;
        Assert.Equal((3600.0, 1920, 1080, 25.0, "h264", 8, 0), (media.Duration, media.Width, media.Height, media.Fps, media.VideoCodec, media.BitDepth, media.VideoIndex));
        Assert.Equal((1, "aac", 2, 44100), media.Audio.Select(a => (a.Index, a.Codec, a.Channels, a.SampleRate)).Single());
    }

    [Fact]
    public async Task The_copying_fallback_setting_reaches_the_engine_request_as_copy_fallback()
    {
        await Post(ChromiumProfile);
        _configuration.Current.CopySourceAsFallback = true;
        await Post(ChromiumProfile);
        await Post(HevcProfile);
        Assert.Equal([false, true, false], _engine.Requests.Select(r => r.CopyFallback));
        Assert.Contains("\"copy_fallback\":true", System.Text.Json.JsonSerializer.Serialize(_engine.Requests.ElementAt(1), EngineJsonContext.Default.StreamRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chromium_profile_gets_the_source_rewritten_in_place_to_h264_hls()
    {
        var response = await Post(ChromiumProfile);
        var source = response.MediaSources.Single();

        var request = Assert.Single(_engine.Requests);
        Assert.Equal("h264", request.Codec);
        Assert.Equal(_library.Path, request.Input);
        Assert.Equal(2, request.Scale);
        Assert.Equal(2160, request.MaxHeight);
        Assert.Equal(1, request.AudioStream);

        Assert.False(source.SupportsDirectPlay);
        Assert.False(source.SupportsDirectStream);
        Assert.True(source.SupportsTranscoding);
        Assert.Equal(MediaStreamProtocol.hls, source.TranscodingSubProtocol);
        Assert.Equal("ts", source.TranscodingContainer);
        Assert.Equal(
            $"/Jellyscale/Streams/{FakeEngine.JobId}/master.m3u8?PlaySessionId={response.PlaySessionId}&ApiKey={TestAuthenticationHandler.UserToken}",
            source.TranscodingUrl);
        AssertIdentityKept(source);
    }

    [Fact]
    public async Task Hevc_capable_profile_gets_hevc_in_fmp4()
    {
        var response = await Post(HevcProfile);
        Assert.Equal("hevc", Assert.Single(_engine.Requests).Codec);
        var source = response.MediaSources.Single();
        Assert.Equal("mp4", source.TranscodingContainer);
        Assert.StartsWith($"/Jellyscale/Streams/{FakeEngine.JobId}/master.m3u8?", source.TranscodingUrl, StringComparison.Ordinal);
        AssertIdentityKept(source);
    }

    [Fact]
    public async Task Hevc_capable_profile_gets_h264_when_the_engine_has_no_hardware_hevc_encoder()
    {
        _engine.Info = new EngineInfo { Backend = "cpu", Hardware = false, HevcHardware = false };
        var response = await Post(HevcProfile);
        Assert.Equal("h264", Assert.Single(_engine.Requests).Codec);
        Assert.Equal("ts", response.MediaSources.Single().TranscodingContainer);
    }

    [Fact]
    public async Task A_paused_job_found_after_a_restart_is_played_not_the_original()
    {
        _engine.OnStart = request => FakeEngine.Running(request.Codec) with { State = JobState.Paused };
        var response = await Post(ChromiumProfile);
        Assert.StartsWith($"/Jellyscale/Streams/{FakeEngine.JobId}/master.m3u8?", response.MediaSources.Single().TranscodingUrl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_without_a_profile_is_rewritten_to_h264()
    {
        using var get = await _client!.GetAsync($"/Items/{Guid.NewGuid()}/PlaybackInfo?ApiKey={TestAuthenticationHandler.UserToken}");
        var response = await Read(get);
        Assert.Equal("h264", Assert.Single(_engine.Requests).Codec);
        Assert.NotNull(response.MediaSources.Single().TranscodingUrl);
    }

    [Fact]
    public async Task Toggle_off_leaves_the_response_as_jellyfin_made_it()
    {
        _configuration.Current.UseUpscaledStream = false;
        await AssertUntouched(await Post(ChromiumProfile));
    }

    [Fact]
    public async Task User_not_in_the_chosen_list_is_left_alone_while_a_chosen_user_is_rewritten()
    {
        _configuration.Current.ApplyToAllUsers = false;
        _configuration.Current.UserIds = new[] { TestAuthenticationHandler.OtherUserId.ToString("N") };
        await AssertUntouched(await Post(ChromiumProfile));

        var chosen = await Post(ChromiumProfile, TestAuthenticationHandler.OtherUserToken);
        Assert.NotNull(chosen.MediaSources.Single().TranscodingUrl);
    }

    [Fact]
    public async Task Finished_job_is_reused_through_the_same_stream_url()
    {
        _engine.OnStart = request => FakeEngine.Running(request.Codec) with { State = JobState.Done, Progress = 1, FinalPath = "/data/jellyscale/upscaled/x.ts" };
        var first = await Post(ChromiumProfile);
        var second = await Post(ChromiumProfile);
        Assert.Equal(2, _engine.Requests.Count);
        Assert.Contains(FakeEngine.JobId, first.MediaSources.Single().TranscodingUrl, StringComparison.Ordinal);
        Assert.Equal(first.MediaSources.Single().TranscodingUrl, second.MediaSources.Single().TranscodingUrl);
    }

    [Fact]
    public async Task Engine_error_leaves_the_response_untouched()
    {
        _engine.OnStart = _ => throw new JellyscaleException(JellyscaleStatus.Ffmpeg, "ffmpeg", "probe failed");
        await AssertUntouched(await Post(ChromiumProfile), expectEngineCall: true);
    }

    [Fact]
    public async Task Failed_job_leaves_the_response_untouched()
    {
        _engine.OnStart = request => FakeEngine.Running(request.Codec) with { State = JobState.Failed };
        await AssertUntouched(await Post(ChromiumProfile), expectEngineCall: true);
    }

    [Fact]
    public async Task Source_already_at_the_target_height_is_not_upscaled()
    {
        _library.Height = 2160;
        await AssertUntouched(await Post(ChromiumProfile));
    }

    [Fact]
    public async Task Request_that_forbids_transcoding_is_left_alone()
    {
        using var content = new StringContent("{\"EnableTranscoding\":false}", Encoding.UTF8, "application/json");
        using var post = await _client!.PostAsync($"/Items/{Guid.NewGuid()}/PlaybackInfo?ApiKey={TestAuthenticationHandler.UserToken}", content);
        await AssertUntouched(await Read(post));
    }

    [Fact]
    public async Task Body_values_win_over_the_obsolete_query_parameters()
    {
        using var content = new StringContent("{\"AudioStreamIndex\":1}", Encoding.UTF8, "application/json");
        using var post = await _client!.PostAsync($"/Items/{Guid.NewGuid()}/PlaybackInfo?ApiKey={TestAuthenticationHandler.UserToken}&audioStreamIndex=2", content);
        await Read(post);
        Assert.Equal(1, Assert.Single(_engine.Requests).AudioStream);
    }

    [Fact]
    public async Task Requested_audio_stream_is_passed_to_the_engine()
    {
        await Post(ChromiumProfile, query: "&audioStreamIndex=2");
        Assert.Equal(2, Assert.Single(_engine.Requests).AudioStream);
    }

    [Fact]
    public async Task Resume_position_is_passed_to_the_engine_in_seconds()
    {
        await Post(ChromiumProfile, query: "&startTimeTicks=" + TimeSpan.FromSeconds(130.5).Ticks);
        Assert.Equal(130.5, Assert.Single(_engine.Requests).StartSeconds);
    }

    [Fact]
    public async Task Saved_upscaled_version_is_preferred_and_nothing_is_started()
    {
        _library.ExtraVersionPath = "/media/Movies/Film (2020)/Film (2020) - Upscaled 2160p.mkv";
        var response = await Post(ChromiumProfile);
        Assert.Empty(_engine.Requests);
        Assert.Equal(_library.ExtraVersionPath, response.MediaSources[0].Path);
        Assert.True(response.MediaSources.All(s => s.TranscodingUrl is null));
    }

    [Fact]
    public async Task Codec_policy_always_h264_overrides_an_hevc_profile()
    {
        _configuration.Current.CodecPolicy = CodecPolicy.AlwaysH264;
        await Post(HevcProfile);
        Assert.Equal("h264", Assert.Single(_engine.Requests).Codec);
    }

    private static void AssertIdentityKept(MediaBrowser.Model.Dto.MediaSourceInfo source)
    {
        var original = new StandInLibrary().Build().MediaSources[0];
        Assert.Equal(original.Id, source.Id);
        Assert.Equal(original.ETag, source.ETag);
        Assert.Equal(original.RunTimeTicks, source.RunTimeTicks);
        Assert.Equal(original.Path, source.Path);
        Assert.Equal(
            original.MediaStreams.Select(s => (s.Type, s.Index, s.Codec, s.Height)),
            source.MediaStreams.Select(s => (s.Type, s.Index, s.Codec, s.Height)));
    }

    private async Task AssertUntouched(PlaybackInfoResponse response, bool expectEngineCall = false)
    {
        Assert.Equal(expectEngineCall, !_engine.Requests.IsEmpty);
        var expected = JsonSerialize(_library.Build());
        Assert.Equal(expected, JsonSerialize(response));
        await Task.CompletedTask;
    }

    private static string JsonSerialize(PlaybackInfoResponse response)
        => System.Text.Json.JsonSerializer.Serialize(response, PluginHost.Json);

    private async Task<PlaybackInfoResponse> Post(string body, string token = TestAuthenticationHandler.UserToken, string query = "")
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var post = await _client!.PostAsync($"/Items/{Guid.NewGuid()}/PlaybackInfo?ApiKey={token}{query}", content);
        return await Read(post);
    }

    private static async Task<PlaybackInfoResponse> Read(HttpResponseMessage message)
    {
        Assert.Equal(HttpStatusCode.OK, message.StatusCode);
        return (await message.Content.ReadFromJsonAsync<PlaybackInfoResponse>(PluginHost.Json))!;
    }
}
