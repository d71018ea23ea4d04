using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Web;

/// <summary>The HLS controller in a real Kestrel with a real job.</summary>
[Collection(NativeCollection.Name)]
public sealed class HlsStreamingTests
{
    private const string Key = TestAuthenticationHandler.UserToken;
    private readonly MediaClips _clips;

    public HlsStreamingTests(MediaClips clips)
    {
        _clips = clips;
    }

    [SkippableFact]
    public async Task Ffmpeg_reads_the_whole_stream_over_http_while_it_is_being_produced()
    {
        await using var host = await Start("whole-stream");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        Assert.True(host.Engine.GetStatus(jobId).IsActive, "the job should still be encoding when the player starts");

        var copy = Path.Combine(_clips.Root, jobId + "-copy.ts");
        var (code, _, err) = await Prerequisites.RunAsync(Prerequisites.Ffmpeg(), TimeSpan.FromMinutes(3),
            "-nostdin", "-v", "error", "-y", "-i", host.BaseUrl + url, "-map", "0:p:0", "-c", "copy", "-f", "mpegts", copy);
        Assert.True(code == 0, err);

        var (probeCode, probe, probeErr) = await Prerequisites.RunAsync(Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30),
            "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name,width,height", "-of", "json", copy);
        Assert.True(probeCode == 0, probeErr);
        using var json = JsonDocument.Parse(probe);
        var duration = double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(duration, 19.0, 21.0);
        var streams = json.RootElement.GetProperty("streams").EnumerateArray().ToList();
        var video = streams.Single(s => s.GetProperty("codec_type").GetString() == "video");
        Assert.Equal("h264", video.GetProperty("codec_name").GetString());
        Assert.Equal(640, video.GetProperty("width").GetInt32());
        Assert.Equal(360, video.GetProperty("height").GetInt32());
        Assert.Contains(streams, s => s.GetProperty("codec_type").GetString() == "audio");
    }

    [SkippableFact]
    public async Task A_player_switching_to_a_cheaper_hevc_rung_gets_its_init_section_where_it_is()
    {
        await using var host = await Start("hevc-rung");
        var url = await host.PlaybackUrlAsync(profile: RealEngineHost.HevcProfile);
        var jobId = RealEngineHost.JobIdOf(url);
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];
        using (var upscaled = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/3.m4s?{query}"))
        {
            Assert.Equal(HttpStatusCode.OK, upscaled.StatusCode);
        }

        var master = await host.Client.GetStringAsync($"/Jellyscale/Streams/{jobId}/master.m3u8?{query}");
        var fallback = host.Engine.GetStatus(jobId).Rungs.Single(r => r.Role == JobRole.Fallback);
        Assert.Contains($"\nfallback/main.m3u8?{query}", master, StringComparison.Ordinal);
        using var init = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/fallback/init.mp4?{query}");
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        Assert.Equal("video/mp4", init.Content.Headers.ContentType!.MediaType);
        var rung = host.Engine.GetStatus(fallback.JobId);
        Assert.Equal(jobId, rung.ParentJobId);
        Assert.Equal(3, rung.ReadyRanges[0][0]);
    }

    [SkippableFact]
    public async Task Hevc_client_gets_fmp4_with_an_init_segment_that_ffmpeg_reads_whole()
    {
        await using var host = await Start("hevc");
        var url = await host.PlaybackUrlAsync(profile: RealEngineHost.HevcProfile);
        var jobId = RealEngineHost.JobIdOf(url);
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];

        var media = await host.Client.GetStringAsync($"/Jellyscale/Streams/{jobId}/main.m3u8?{query}");
        Assert.Contains("#EXT-X-MAP:URI=\"init.mp4?" + query + "\"", media, StringComparison.Ordinal);
        using var init = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/init.mp4?{query}");
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        Assert.Equal("video/mp4", init.Content.Headers.ContentType!.MediaType);
        using var ts = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/0.ts?{query}");
        Assert.Equal(HttpStatusCode.NotFound, ts.StatusCode);

        var copy = Path.Combine(_clips.Root, jobId + "-copy.mp4");
        var (code, _, err) = await Prerequisites.RunAsync(Prerequisites.Ffmpeg(), TimeSpan.FromMinutes(3),
            "-nostdin", "-v", "error", "-y", "-i", host.BaseUrl + url, "-map", "0:p:0", "-c", "copy", copy);
        Assert.True(code == 0, err);
        var (_, probe, _) = await Prerequisites.RunAsync(Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30),
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "json", copy);
        using var json = JsonDocument.Parse(probe);
        var video = json.RootElement.GetProperty("streams")[0];
        Assert.Equal("hevc", video.GetProperty("codec_name").GetString());
        Assert.Equal(360, video.GetProperty("height").GetInt32());
        var duration = double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(duration, 19.0, 21.0);
    }

    [SkippableTheory]
    [InlineData("h264", "mpegts")]
    [InlineData("hevc", "mp4")]
    public async Task Finished_job_is_served_from_its_final_file_through_the_same_url(string codec, string format)
    {
        await using var host = await Start("finished-" + codec);
        var profile = codec == "hevc" ? RealEngineHost.HevcProfile : RealEngineHost.ChromiumProfile;
        var url = await host.PlaybackUrlAsync(profile: profile);
        var jobId = RealEngineHost.JobIdOf(url);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (host.Engine.GetStatus(jobId).State != JobState.Done && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        var status = host.Engine.GetStatus(jobId);
        Assert.Equal(JobState.Done, status.State);
        Assert.True(File.Exists(status.FinalPath), status.FinalPath);
        Assert.Equal(url, await host.PlaybackUrlAsync(profile: profile));

        // Segments of a finished job are ranges of its final file: the controller serves those ranges.
        var segment = await host.Engine.WaitSegmentAsync(jobId, 2, TimeSpan.FromSeconds(5), System.Threading.CancellationToken.None);
        Assert.Equal(status.FinalPath, segment.Path);
        Assert.True(segment.Offset > 0);

        var copy = Path.Combine(_clips.Root, jobId + "-final-copy." + (format == "mp4" ? "mp4" : "ts"));
        var (code, _, err) = await Prerequisites.RunAsync(Prerequisites.Ffmpeg(), TimeSpan.FromMinutes(3),
            "-nostdin", "-v", "error", "-y", "-i", host.BaseUrl + url, "-map", "0:p:0", "-c", "copy", "-f", format, copy);
        Assert.True(code == 0, err);
        var (_, probe, _) = await Prerequisites.RunAsync(Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30),
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,height:format=duration", "-of", "json", copy);
        using var json = JsonDocument.Parse(probe);
        Assert.Equal(codec, json.RootElement.GetProperty("streams")[0].GetProperty("codec_name").GetString());
        var duration = double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(duration, 19.0, 21.0);

        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];
        var extension = codec == "hevc" ? "m4s" : "ts";
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/Jellyscale/Streams/{jobId}/2.{extension}?{query}");
        ranged.Headers.Range = new RangeHeaderValue(0, 99);
        using var partial = await host.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(100, (await partial.Content.ReadAsByteArrayAsync()).Length);
    }

    [SkippableFact]
    public async Task A_copying_fallback_is_the_source_itself_served_through_the_plugin_and_shown_in_the_jobs_panel()
    {
        Prerequisites.NativeLibrary();
        Prerequisites.Ffmpeg();
        await using var host = await RealEngineHost.StartAsync(_clips, _clips.LongClip, "copy");
        host.Configuration.Current.CopySourceAsFallback = true;
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        var fallback = host.Engine.GetStatus(jobId).Rungs.Single(r => r.Role == JobRole.Fallback);
        Assert.True(fallback.StreamCopy);

        // The master announces the source's own codec for it; ffmpeg reads that variant over HTTP.
        var master = (await host.Client.GetStringAsync(url)).Split('\n');
        var at = Array.FindIndex(master, l => l.StartsWith("fallback/main.m3u8", StringComparison.Ordinal));
        Assert.True(at > 0, string.Join('\n', master));
        var (_, source, _) = await Prerequisites.RunAsync(Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30),
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=profile,level", "-of", "csv=p=0", _clips.LongClip);
        var parts = source.Trim().Split(',');
        Assert.Equal("High", parts[0]);
        Assert.Contains($"CODECS=\"avc1.6400{int.Parse(parts[1], CultureInfo.InvariantCulture):x2},mp4a.40.2\"", master[at - 1], StringComparison.Ordinal);
        var variantUrl = $"{host.BaseUrl}/Jellyscale/Streams/{jobId}/{master[at]}";
        var copy = Path.Combine(_clips.Root, jobId + "-fallback.ts");
        var (code, _, err) = await Prerequisites.RunAsync(Prerequisites.Ffmpeg(), TimeSpan.FromMinutes(2),
            "-nostdin", "-v", "error", "-y", "-i", variantUrl, "-map", "0:v:0", "-c", "copy", "-t", "20", "-f", "mpegts", copy);
        Assert.True(code == 0, err);
        var (_, probe, _) = await Prerequisites.RunAsync(Prerequisites.Ffprobe(), TimeSpan.FromSeconds(30),
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,width,height", "-of", "csv=p=0", copy);
        Assert.Equal("h264,High,640,360", probe.Trim().Split('\n')[0]);

        var jobs = await host.Client.GetFromJsonAsync<JsonElement>("/Jellyscale/Jobs?ApiKey=" + TestAuthenticationHandler.AdminToken);
        var row = jobs.EnumerateArray().Single(j => j.GetProperty("JobId").GetString() == jobId);
        Assert.Equal("original", row.GetProperty("ViewerOn").GetString());
    }

    [SkippableFact]
    public async Task Playlists_carry_the_query_on_every_uri_and_segments_have_mime_and_ranges()
    {
        await using var host = await Start("playlists");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];

        using var master = await host.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, master.StatusCode);
        Assert.Equal("application/vnd.apple.mpegurl", master.Content.Headers.ContentType!.MediaType);
        var masterText = await master.Content.ReadAsStringAsync();
        Assert.Contains("RESOLUTION=640x360", masterText, StringComparison.Ordinal);
        Assert.Contains("CODECS=\"avc1.", masterText, StringComparison.Ordinal);
        Assert.EndsWith("main.m3u8?" + query + "\n", masterText, StringComparison.Ordinal);

        // Some players (ExoPlayer) probe with HEAD first.
        using var head = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/vnd.apple.mpegurl", head.Content.Headers.ContentType!.MediaType);

        var media = await host.Client.GetStringAsync($"/Jellyscale/Streams/{jobId}/main.m3u8?{query}");
        var uris = media.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToList();
        Assert.Equal(host.Engine.GetStatus(jobId).SegmentCount, uris.Count);
        Assert.All(uris, uri => Assert.EndsWith(".ts?" + query, uri, StringComparison.Ordinal));

        using var segment = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/0.ts?{query}");
        Assert.Equal(HttpStatusCode.OK, segment.StatusCode);
        Assert.Equal("video/mp2t", segment.Content.Headers.ContentType!.MediaType);
        var bytes = await segment.Content.ReadAsByteArrayAsync();
        Assert.Equal(0x47, bytes[0]);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/Jellyscale/Streams/{jobId}/0.ts?{query}");
        ranged.Headers.Range = new RangeHeaderValue(188, 375);
        using var partial = await host.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        var slice = await partial.Content.ReadAsByteArrayAsync();
        Assert.Equal(bytes.Skip(188).Take(188), slice);
    }

    [SkippableFact]
    public async Task Requests_without_a_valid_api_key_get_401()
    {
        await using var host = await Start("auth");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        foreach (var path in new[]
        {
            $"/Jellyscale/Streams/{jobId}/master.m3u8",
            $"/Jellyscale/Streams/{jobId}/main.m3u8",
            $"/Jellyscale/Streams/{jobId}/0.ts",
            $"/Jellyscale/Streams/{jobId}/0.ts?ApiKey=wrong",
            "/Jellyscale/Jobs",
        })
        {
            using var response = await host.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, path + " gave " + response.StatusCode);
        }
    }

    [SkippableFact]
    public async Task Dot_dot_bad_job_ids_and_absurd_segments_are_rejected()
    {
        await using var host = await Start("reject");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        var count = host.Engine.GetStatus(jobId).SegmentCount;
        // Every name is the engine's to judge (one table for every server): anything it does not serve is 404.
        var cases = new (string Path, HttpStatusCode Expected)[]
        {
            ("/Jellyscale/Streams/NOTAJOB/master.m3u8", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId.ToUpperInvariant()}/master.m3u8", HttpStatusCode.NotFound),
            // The client's URI normalization turns an escaped ".." segment back into "..", which is then resolved away.
            ("/Jellyscale/Streams/%2e%2e/master.m3u8", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/..%2F..%2F..%2Fetc%2Fpasswd", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/%2e%2e", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/job.json", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/status", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/fallback/status", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/lower/master.m3u8", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/upscaled/0.ts", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/12345678901.ts", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/-1.ts", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/01.ts", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/999999.ts", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/{count}.ts", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/0.m4s", HttpStatusCode.NotFound),
            ($"/Jellyscale/Streams/{jobId}/init.mp4", HttpStatusCode.NotFound),
            ("/Jellyscale/Streams/ffffffffffffffffffffffffffffffff/master.m3u8", HttpStatusCode.NotFound),
        };
        foreach (var (path, expected) in cases)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseUrl + path + "?ApiKey=" + Key, UriKind.Absolute));
            using var response = await host.Client.SendAsync(request);
            Assert.True(response.StatusCode == expected, $"{path} gave {response.StatusCode}, expected {expected}");
        }

        // ".." segments are resolved before routing, so they never even reach the controller as a job id.
        using var dotted = await host.Client.GetAsync("/Jellyscale/Streams/../../etc/passwd?ApiKey=" + Key);
        Assert.Equal(HttpStatusCode.NotFound, dotted.StatusCode);
    }

    [SkippableFact]
    public async Task A_range_past_the_end_of_a_segment_is_416_with_the_total_length()
    {
        await using var host = await Start("range-416");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];
        var whole = await host.Client.GetByteArrayAsync($"/Jellyscale/Streams/{jobId}/0.ts?{query}");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/Jellyscale/Streams/{jobId}/0.ts?{query}");
        request.Headers.Range = new RangeHeaderValue(whole.Length, null);
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{whole.Length}", response.Content.Headers.ContentRange!.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [SkippableFact]
    public async Task A_segment_of_a_cancelled_job_is_410_gone()
    {
        Prerequisites.NativeLibrary();
        Prerequisites.Ffmpeg();
        await using var host = await RealEngineHost.StartAsync(_clips, _clips.LongClip, "cancelled");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];
        var last = host.Engine.GetStatus(jobId).SegmentCount - 1;
        host.Engine.Cancel(jobId);

        using var response = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/{last}.ts?{query}");
        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
    }

    [SkippableFact]
    public async Task Clients_that_leave_before_their_segment_is_ready_leave_no_open_file_behind()
    {
        await using var host = await Start("abort");
        var url = await host.PlaybackUrlAsync();
        var jobId = RealEngineHost.JobIdOf(url);
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..];
        var count = host.Engine.GetStatus(jobId).SegmentCount;
        using (var warm = await host.Client.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        // Only descriptors of this engine's own files count: other suites run beside this one.
        // (The engine itself holds one: its cache lock.)
        var root = Assert.Single(Directory.GetDirectories(_clips.Root, "abort-*"));
        var before = OpenFilesUnder(root);

        // Each request gives up long before its segment exists; the engine's answer, an open
        // descriptor, arrives after the client left and must be closed by the plugin.
        const int Leavers = 60;
        var requests = Enumerable.Range(0, Leavers).Select(async i =>
        {
            using var cts = new System.Threading.CancellationTokenSource(TimeSpan.FromMilliseconds(20));
            try
            {
                using var response = await host.Client.GetAsync($"/Jellyscale/Streams/{jobId}/{count - 1 - (i % 2)}.ts?{query}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
                return response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        });
        var answered = (await Task.WhenAll(requests)).Sum();
        Assert.True(answered < Leavers / 2, $"{answered} of {Leavers} segments were ready at once: nothing was left to close late");

        // Once the job is done every pending answer has come back (a ready segment is answered at once).
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (host.Engine.GetStatus(jobId).State != JobState.Done && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(JobState.Done, host.Engine.GetStatus(jobId).State);
        // A leaked descriptor would be closed only by a garbage collection's finalizer, if ever.
        var open = OpenFilesUnder(root);
        for (var i = 0; i < 50 && open > before; i++)
        {
            await Task.Delay(100);
            open = OpenFilesUnder(root);
        }

        Assert.True(open <= before, $"{open - before} descriptors still open on the job's files after {Leavers} clients left");
    }

    /// <summary>Descriptors of this process open on files under <paramref name="root"/> (deleted ones included).</summary>
    private static int OpenFilesUnder(string root) => Directory.GetFileSystemEntries("/proc/self/fd").Count(fd =>
    {
        try
        {
            return new FileInfo(fd).LinkTarget?.StartsWith(root + "/", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false; // closed while we looked
        }
    });

    [SkippableFact]
    public async Task Jobs_panel_lists_and_cancels_for_administrators_only()
    {
        await using var host = await Start("jobs");
        var jobId = RealEngineHost.JobIdOf(await host.PlaybackUrlAsync());

        using var asUser = await host.Client.GetAsync("/Jellyscale/Jobs?ApiKey=" + Key);
        Assert.Equal(HttpStatusCode.Forbidden, asUser.StatusCode);

        var jobs = await host.Client.GetFromJsonAsync<JsonElement>("/Jellyscale/Jobs?ApiKey=" + TestAuthenticationHandler.AdminToken);
        var row = jobs.EnumerateArray().Single(j => j.GetProperty("JobId").GetString() == jobId);
        Assert.Equal(Path.GetFileName(_clips.ShortClip), row.GetProperty("Input").GetString());
        Assert.Equal(360, row.GetProperty("Height").GetInt32());

        // What the dashboard's script reads: the state by its engine name, the ranges for the bar, the upscaler.
        Assert.Contains(row.GetProperty("State").GetString(), new[] { "queued", "running", "finalizing", "done" });
        Assert.Equal(host.Engine.GetStatus(jobId).SegmentCount, row.GetProperty("SegmentCount").GetInt32());
        Assert.Equal(JsonValueKind.Array, row.GetProperty("ReadyRanges").ValueKind);
        Assert.Equal("cpu, lanczos", row.GetProperty("Upscaler").GetString());
        Assert.Equal(host.Engine.GetStatus(jobId).IsActive, row.GetProperty("Cancelable").GetBoolean());

        using var badCancel = await host.Client.PostAsync("/Jellyscale/Jobs/nope/Cancel?ApiKey=" + TestAuthenticationHandler.AdminToken, null);
        Assert.Equal(HttpStatusCode.BadRequest, badCancel.StatusCode);
        using var userCancel = await host.Client.PostAsync($"/Jellyscale/Jobs/{jobId}/Cancel?ApiKey={Key}", null);
        Assert.Equal(HttpStatusCode.Forbidden, userCancel.StatusCode);
        using var cancel = await host.Client.PostAsync($"/Jellyscale/Jobs/{jobId}/Cancel?ApiKey={TestAuthenticationHandler.AdminToken}", null);
        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        // Cancelling stops ffmpeg asynchronously; the state follows within moments.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (host.Engine.GetStatus(jobId).IsActive && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Contains(host.Engine.GetStatus(jobId).State, new[] { JobState.Cancelled, JobState.Done });
    }

    private Task<RealEngineHost> Start(string name)
    {
        Prerequisites.NativeLibrary();
        Prerequisites.Ffmpeg();
        return RealEngineHost.StartAsync(_clips, _clips.ShortClip, name);
    }
}
