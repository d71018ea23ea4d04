using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Core.Native;
using Jellyscale.Core.Streaming;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Native;

/// <summary>The engine wrapper against the real libjellyscale cdylib.</summary>
[Collection(NativeCollection.Name)]
public sealed class EngineWrapperTests
{
    private const string UnknownJob = "ffffffffffffffffffffffffffffffff";
    private readonly MediaClips _clips;

    public EngineWrapperTests(MediaClips clips)
    {
        _clips = clips;
    }

    [SkippableFact]
    public void Library_reports_abi_version_1()
    {
        NativeLibraryLoader.Load(Prerequisites.NativeLibrary());
        Assert.Equal(1u, NativeMethods.jellyscale_abi_version());
    }

    [SkippableFact]
    public void Unknown_config_field_is_rejected_as_invalid_argument()
    {
        var library = Prerequisites.NativeLibrary();
        var e = Assert.Throws<JellyscaleException>(() => JellyscaleEngine.CreateFromJson(library, "{\"no_such_setting\":1}"));
        AssertError(e, JellyscaleStatus.InvalidArgument);
    }

    [SkippableFact]
    public void Malformed_config_json_is_rejected_as_invalid_argument()
    {
        var library = Prerequisites.NativeLibrary();
        AssertError(Assert.Throws<JellyscaleException>(() => JellyscaleEngine.CreateFromJson(library, "{not json")), JellyscaleStatus.InvalidArgument);
    }

    [SkippableFact]
    public void Start_stream_returns_a_job_at_once_and_the_same_request_returns_the_same_job()
    {
        using var engine = _clips.NewEngine("same-job");
        var request = new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2 };
        var first = engine.StartStream(request);
        var second = engine.StartStream(request);

        Assert.True(JobId.IsValid(first.JobId), first.JobId);
        Assert.Equal(first.JobId, second.JobId);
        Assert.Equal(640, first.Width);
        Assert.Equal(360, first.Height);
        Assert.Equal(320, first.SourceWidth);
        Assert.Equal(180, first.SourceHeight);
        // 20 s in segments of at most segment_seconds (the engine may make the first one shorter to start sooner).
        Assert.InRange(first.SegmentCount, 5, 6);
        Assert.InRange(first.DurationSeconds, 19.5, 20.5);
        Assert.Equal("ts", first.SegmentContainer);
        Assert.StartsWith("avc1.", first.Codecs, StringComparison.Ordinal);
        Assert.True(first.IsUsable, first.State.ToString());
        Assert.Contains(engine.ListJobs(), j => j.JobId == first.JobId);
        Assert.Equal(first.JobId, engine.GetStatus(first.JobId).JobId);
    }

    [SkippableFact]
    public void Unknown_codec_is_invalid_argument()
    {
        using var engine = _clips.NewEngine("bad-codec");
        AssertError(Assert.Throws<JellyscaleException>(() => engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "vp9" })), JellyscaleStatus.InvalidArgument);
    }

    [SkippableFact]
    public void File_that_is_not_media_is_refused_with_a_matching_code_and_message()
    {
        using var engine = _clips.NewEngine("not-media");
        var e = Assert.Throws<JellyscaleException>(() => engine.StartStream(new StreamRequest { Input = _clips.NotMedia, Codec = "h264" }));
        Assert.Contains(e.Status, new[] { JellyscaleStatus.BadInput, JellyscaleStatus.Ffmpeg });
        AssertError(e, e.Status);
    }

    [SkippableFact]
    public void Missing_input_is_refused()
    {
        using var engine = _clips.NewEngine("missing");
        var e = Assert.Throws<JellyscaleException>(() => engine.StartStream(new StreamRequest { Input = Path.Combine(_clips.Root, "nope.mkv"), Codec = "h264" }));
        Assert.Contains(e.Status, new[] { JellyscaleStatus.NotFound, JellyscaleStatus.BadInput });
        AssertError(e, e.Status);
    }

    [SkippableFact]
    public void Unknown_job_is_not_found_for_status_cancel_playlist_and_wait()
    {
        using var engine = _clips.NewEngine("unknown");
        AssertError(Assert.Throws<JellyscaleException>(() => engine.GetStatus(UnknownJob)), JellyscaleStatus.NotFound);
        Assert.Equal(JellyscaleStatus.NotFound, Assert.Throws<JellyscaleException>(() => engine.Cancel(UnknownJob)).Status);
        AssertError(Assert.Throws<JellyscaleException>(() => engine.GetPlaylist(UnknownJob, string.Empty)), JellyscaleStatus.NotFound);
        var wait = Assert.ThrowsAsync<JellyscaleException>(() => engine.WaitSegmentAsync(UnknownJob, 0, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(JellyscaleStatus.NotFound, wait.GetAwaiter().GetResult().Status);
    }

    [SkippableFact]
    public async Task Wait_segment_completes_with_a_finished_segment_file()
    {
        using var engine = _clips.NewEngine("wait");
        var job = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2 });
        var segment = await engine.WaitSegmentAsync(job.JobId, 1, TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal(1, segment.Index);
        Assert.True(Path.IsPathFullyQualified(segment.Path), segment.Path);
        Assert.True(new FileInfo(segment.Path).Length > 0);
        Assert.InRange(segment.Duration, 0.5, 4.5);
        var (code, stdout, _) = await Prerequisites.RunAsync(Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30),
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", segment.Path);
        Assert.Equal(0, code);
        // MPEG-TS lists the stream once per program too: every line must say 640x360.
        Assert.All(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Equal("640,360", line.Trim()));
    }

    [SkippableFact]
    public async Task Wait_with_a_tiny_timeout_fails_with_timeout()
    {
        using var engine = _clips.NewEngine("timeout");
        var job = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 2 });
        var e = await Assert.ThrowsAsync<JellyscaleException>(() => engine.WaitSegmentAsync(job.JobId, job.SegmentCount - 1, TimeSpan.FromMilliseconds(1), CancellationToken.None));
        AssertError(e, JellyscaleStatus.Timeout);
    }

    [SkippableFact]
    public async Task Wait_past_the_last_segment_is_refused()
    {
        using var engine = _clips.NewEngine("past-end");
        var job = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2 });
        var e = await Assert.ThrowsAsync<JellyscaleException>(() => engine.WaitSegmentAsync(job.JobId, job.SegmentCount + 5, TimeSpan.FromSeconds(2), CancellationToken.None));
        Assert.Contains(e.Status, new[] { JellyscaleStatus.InvalidArgument, JellyscaleStatus.NotFound });
    }

    [SkippableFact]
    public async Task Cancelling_a_job_fails_its_pending_wait_with_cancelled()
    {
        using var engine = _clips.NewEngine("cancel");
        var job = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 2 });
        var wait = engine.WaitSegmentAsync(job.JobId, job.SegmentCount - 1, TimeSpan.FromSeconds(60), CancellationToken.None);
        engine.Cancel(job.JobId);
        var e = await Assert.ThrowsAsync<JellyscaleException>(() => wait);
        AssertError(e, JellyscaleStatus.Cancelled);
        Assert.Equal(JobState.Cancelled, engine.GetStatus(job.JobId).State);
    }

    [SkippableFact]
    public async Task Freeing_the_engine_fails_pending_waits_instead_of_leaving_them_hanging()
    {
        var engine = _clips.NewEngine("free");
        var job = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 2 });
        var wait = engine.WaitSegmentAsync(job.JobId, job.SegmentCount - 1, TimeSpan.FromSeconds(60), CancellationToken.None);
        engine.Dispose();
        var e = await Assert.ThrowsAsync<JellyscaleException>(() => wait.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(e.Status, new[] { JellyscaleStatus.ShuttingDown, JellyscaleStatus.Cancelled });
        Assert.Throws<ObjectDisposedException>(() => engine.ListJobs());
    }

    [SkippableFact]
    public async Task Client_going_away_ends_the_await_at_once()
    {
        using var engine = _clips.NewEngine("client-gone");
        var job = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 2 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.WaitSegmentAsync(job.JobId, job.SegmentCount - 1, TimeSpan.FromSeconds(60), cts.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [SkippableFact]
    public void Playlist_lists_every_segment_with_the_query_and_an_endlist()
    {
        using var engine = _clips.NewEngine("playlist");
        var job = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2 });
        var text = engine.GetPlaylist(job.JobId, "ApiKey=k&PlaySessionId=p");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("#EXTM3U", lines[0]);
        Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD", lines);
        Assert.Equal("#EXT-X-ENDLIST", lines[^1]);
        Assert.Equal(
            Enumerable.Range(0, job.SegmentCount).Select(i => $"{i}.ts?ApiKey=k&PlaySessionId=p"),
            lines.Where(l => !l.StartsWith('#')));
    }

    private static void AssertError(JellyscaleException e, JellyscaleStatus status)
    {
        Assert.Equal(status, e.Status);
        Assert.Equal(JellyscaleException.CodeOf(status), e.Code);
        Assert.False(string.IsNullOrWhiteSpace(e.Detail));
    }
}
