using Jellyscale.Core.Engine;
using Jellyscale.Core.Playback;
using Jellyscale.Core.Streaming;
using Xunit;

namespace Jellyscale.Tests.Core;

public class StreamNamingTests
{
    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789abcdef", false)]
    [InlineData("0123456789abcdef0123456789abcde", false)]
    [InlineData("0123456789abcdef0123456789abcdef0", false)]
    [InlineData("..", false)]
    [InlineData("../../../../etc/passwd", false)]
    [InlineData("0123456789abcdef0123456789abcdeg", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Job_ids_are_exactly_32_lowercase_hex(string? value, bool valid)
        => Assert.Equal(valid, JobId.IsValid(value));

    [Theory]
    [InlineData("master.m3u8", StreamFileKind.MasterPlaylist, 0, "application/vnd.apple.mpegurl")]
    [InlineData("main.m3u8", StreamFileKind.MediaPlaylist, 0, "application/vnd.apple.mpegurl")]
    [InlineData("init.mp4", StreamFileKind.InitSegment, 0, "video/mp4")]
    [InlineData("0.ts", StreamFileKind.Segment, 0, "video/mp2t")]
    [InlineData("42.ts", StreamFileKind.Segment, 42, "video/mp2t")]
    [InlineData("999999.m4s", StreamFileKind.Segment, 999999, "video/mp4")]
    public void Accepted_file_names_parse_to_kind_index_and_mime(string name, StreamFileKind kind, int index, string mime)
    {
        Assert.True(StreamFile.TryParse(name, out var file));
        Assert.Equal(kind, file.Kind);
        Assert.Equal(index, file.Index);
        Assert.Equal(mime, file.ContentType());
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../0.ts")]
    [InlineData("1000000.ts")]
    [InlineData("99999999999999999999.ts")]
    [InlineData("-1.ts")]
    [InlineData("+1.ts")]
    [InlineData("01.ts")]
    [InlineData("1.mp4")]
    [InlineData("1.ts.exe")]
    [InlineData("a.ts")]
    [InlineData(".ts")]
    [InlineData("master.m3u")]
    [InlineData("job.json")]
    [InlineData("")]
    [InlineData(null)]
    public void Other_file_names_are_rejected(string? name)
        => Assert.False(StreamFile.TryParse(name, out _));

    [Fact]
    public void Master_playlist_names_size_codecs_bandwidth_and_carries_the_query()
    {
        var status = new JobStatus { Width = 1280, Height = 720, Codecs = "avc1.640028,mp4a.40.2", Bandwidth = 4_000_000, SegmentContainer = "ts" };
        var text = MasterPlaylist.Build(status, "ApiKey=abc&PlaySessionId=p1");
        Assert.Equal(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            + "#EXT-X-STREAM-INF:BANDWIDTH=4000000,RESOLUTION=1280x720,CODECS=\"avc1.640028,mp4a.40.2\"\n"
            + "main.m3u8?ApiKey=abc&PlaySessionId=p1\n",
            text);
    }

    [Fact]
    public void Master_playlist_offers_the_cheaper_rungs_after_the_upscaled_variant_by_their_own_job_ids()
    {
        var status = new JobStatus
        {
            Width = 1280,
            Height = 720,
            Codecs = "avc1.640028,mp4a.40.2",
            Bandwidth = 4_000_000,
            SegmentContainer = "ts",
            Rungs =
            [
                new LadderRung { Role = "lower", JobId = "11111111111111111111111111111111", Width = 854, Height = 480, Codecs = "avc1.42c028,mp4a.40.2", Bandwidth = 2_000_000 },
                new LadderRung { Role = "fallback", JobId = "0123456789abcdef0123456789abcdef", Width = 640, Height = 360, Codecs = "avc1.42c028,mp4a.40.2", Bandwidth = 900_000 },
            ],
        };
        var text = MasterPlaylist.Build(status, "ApiKey=abc");
        Assert.EndsWith(
            "main.m3u8?ApiKey=abc\n"
            + "#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=854x480,CODECS=\"avc1.42c028,mp4a.40.2\"\n"
            + "../11111111111111111111111111111111/main.m3u8?ApiKey=abc\n"
            + "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS=\"avc1.42c028,mp4a.40.2\"\n"
            + "../0123456789abcdef0123456789abcdef/main.m3u8?ApiKey=abc\n",
            text,
            System.StringComparison.Ordinal);
    }

    [Fact]
    public void Master_playlist_for_fmp4_uses_version_7_and_no_query_suffix_when_empty()
    {
        var text = MasterPlaylist.Build(new JobStatus { Width = 3840, Height = 2160, Codecs = "hvc1.1.6.L150.90", Bandwidth = 1, SegmentContainer = "mp4" }, string.Empty);
        Assert.Contains("#EXT-X-VERSION:7\n", text, System.StringComparison.Ordinal);
        Assert.EndsWith("\nmain.m3u8\n", text, System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?ApiKey=a%20b&x=1", true, "ApiKey=a%20b&x=1")]
    [InlineData("ApiKey=a", true, "ApiKey=a")]
    [InlineData("", true, "")]
    [InlineData(null, true, "")]
    [InlineData("?a=b\nc", false, "")]
    [InlineData("?a=\"b", false, "")]
    [InlineData("?a=b#c", false, "")]
    public void Queries_that_could_break_a_playlist_line_are_refused(string? raw, bool ok, string expected)
    {
        Assert.Equal(ok, UriQuery.TryNormalize(raw, out var query));
        Assert.Equal(expected, query);
    }

    [Fact]
    public void Transcoding_url_is_server_relative_with_session_and_escaped_key()
    {
        Assert.Equal(
            "/Jellyscale/Streams/0123456789abcdef0123456789abcdef/master.m3u8?PlaySessionId=p%201&ApiKey=k%2Bey",
            StreamUrl.Master("0123456789abcdef0123456789abcdef", "p 1", "k+ey"));
        Assert.Equal("/Jellyscale/Streams/x/master.m3u8", StreamUrl.Master("x", null, null));
    }
}
