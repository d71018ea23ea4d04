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

    [Fact]
    public void Transcoding_url_is_server_relative_with_session_and_escaped_key()
    {
        Assert.Equal(
            "/Jellyscale/Streams/0123456789abcdef0123456789abcdef/master.m3u8?PlaySessionId=p%201&ApiKey=k%2Bey",
            StreamUrl.Master("0123456789abcdef0123456789abcdef", "p 1", "k+ey"));
        Assert.Equal("/Jellyscale/Streams/x/master.m3u8", StreamUrl.Master("x", null, null));
    }
}
