using System;
using System.Linq;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Jellyscale.Tests.Core;

public class ErrorMappingTests
{
    public static TheoryData<JellyscaleStatus, uint, string> Statuses => new()
    {
        { JellyscaleStatus.Ok, 0, "ok" },
        { JellyscaleStatus.InvalidArgument, 1, "invalid_argument" },
        { JellyscaleStatus.NotFound, 2, "not_found" },
        { JellyscaleStatus.BadInput, 3, "bad_input" },
        { JellyscaleStatus.Ffmpeg, 4, "ffmpeg" },
        { JellyscaleStatus.Busy, 5, "busy" },
        { JellyscaleStatus.Io, 6, "io" },
        { JellyscaleStatus.Timeout, 7, "timeout" },
        { JellyscaleStatus.Cancelled, 8, "cancelled" },
        { JellyscaleStatus.ShuttingDown, 9, "shutting_down" },
        { JellyscaleStatus.Internal, 99, "internal" },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public void Every_status_has_the_header_value_and_code_string(JellyscaleStatus status, uint value, string code)
    {
        Assert.Equal(value, (uint)status);
        Assert.Equal(code, JellyscaleException.CodeOf(status));
    }

    [Fact]
    public void The_status_enum_is_uint_sized_and_complete()
    {
        Assert.Equal(typeof(uint), Enum.GetUnderlyingType(typeof(JellyscaleStatus)));
        Assert.Equal(Statuses.Count, Enum.GetValues<JellyscaleStatus>().Length);
    }

    [Fact]
    public void Error_json_supplies_code_and_message()
    {
        var e = JellyscaleException.FromStatus(JellyscaleStatus.NotFound, "{\"code\":\"not_found\",\"message\":\"no job 42\"}");
        Assert.Equal(JellyscaleStatus.NotFound, e.Status);
        Assert.Equal("not_found", e.Code);
        Assert.Equal("no job 42", e.Detail);
    }

    [Fact]
    public void Missing_or_broken_error_json_still_gives_the_status_code()
    {
        Assert.Equal("busy", JellyscaleException.FromStatus(JellyscaleStatus.Busy, null).Code);
        var broken = JellyscaleException.FromStatus(JellyscaleStatus.Io, "not json");
        Assert.Equal("io", broken.Code);
        Assert.Equal("not json", broken.Detail);
    }

    [Theory]
    [InlineData(1u, LogLevel.Error)]
    [InlineData(2u, LogLevel.Warning)]
    [InlineData(3u, LogLevel.Information)]
    [InlineData(4u, LogLevel.Debug)]
    [InlineData(5u, LogLevel.Trace)]
    public void Library_log_levels_map_to_ilogger_levels(uint level, LogLevel expected)
        => Assert.Equal(expected, NativeLog.ToLogLevel(level));

    [Fact]
    public void Job_status_json_from_the_library_deserializes()
    {
        const string json = "{\"job_id\":\"0123456789abcdef0123456789abcdef\",\"state\":\"running\",\"input\":\"/m/a.mkv\",\"codec\":\"h264\","
            + "\"width\":640,\"height\":360,\"source_width\":320,\"source_height\":180,\"duration_seconds\":20.0,\"segment_count\":5,"
            + "\"segment_seconds\":4,\"segment_container\":\"ts\",\"segments_ready\":2,\"ready_ranges\":[[0,1]],\"progress\":0.4,"
            + "\"fps\":100.5,\"speed\":4.2,\"position_seconds\":8.0,\"eta_seconds\":null,\"codecs\":\"avc1.64001e,mp4a.40.2\","
            + "\"bandwidth\":1500000,\"final_path\":null,\"error\":null}";
        var status = System.Text.Json.JsonSerializer.Deserialize(json, EngineJsonContext.Default.JobStatus)!;
        Assert.Equal(JobState.Running, status.State);
        Assert.Equal(360, status.Height);
        Assert.Equal(5, status.SegmentCount);
        Assert.Equal(new[] { 0, 1 }, status.ReadyRanges[0]);
        Assert.Null(status.EtaSeconds);
        Assert.True(status.IsActive);
    }

    [Fact]
    public void Engine_config_json_leaves_unset_members_out()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new EngineConfig { CacheDir = "/c", MaxConcurrentJobs = 2 }, EngineJsonContext.Default.EngineConfig);
        Assert.Equal("{\"cache_dir\":\"/c\",\"max_concurrent_jobs\":2}", json);
    }
}
