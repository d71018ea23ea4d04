using System;
using System.Linq;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Playback;
using Jellyscale.Tests.Support;
using MediaBrowser.Model.Dto;
using MediaBrowser.Model.Entities;
using Xunit;

namespace Jellyscale.Tests.Native;

/// <summary>
/// Jellyfin's description of real clips, handed to the real engine: ffprobe agrees with it, and a wrong one fails its job.
/// (The HLS and browser suites play the long clip through the PlaybackInfo filter, so described, too.)
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class DescribedRequestTests
{
    private readonly MediaClips _clips;

    public DescribedRequestTests(MediaClips clips)
    {
        _clips = clips;
    }

    [SkippableFact]
    public async Task Jellyfins_description_of_a_real_clip_agrees_with_the_engines_ffprobe_and_the_job_saves_its_file()
    {
        using var engine = _clips.NewEngine("described");
        var (streams, ticks) = await JellyfinProbe.ProbeAsync(_clips.ShortClip);
        var media = MediaSourceRewrite.Describe(new MediaSourceInfo { Path = _clips.ShortClip, RunTimeTicks = ticks, MediaStreams = streams });
        Assert.NotNull(media);
        var job = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2, Media = media });
        var done = await Finished(engine, job.JobId);
        Assert.True(done.State == JobState.Done, $"{done.State} {done.Error?.Message}");
    }

    [SkippableFact]
    public async Task A_job_planned_from_a_wrong_description_fails_with_the_difference()
    {
        using var engine = _clips.NewEngine("misdescribed");
        var (streams, ticks) = await JellyfinProbe.ProbeAsync(_clips.LongClip);
        var wrong = streams.Select(s => s.Type == MediaStreamType.Video ? new MediaStream { Type = s.Type, Index = s.Index, Codec = s.Codec, Width = 1280, Height = 720, AverageFrameRate = s.AverageFrameRate, PixelFormat = s.PixelFormat } : s).ToList();
        var media = MediaSourceRewrite.Describe(new MediaSourceInfo { Path = _clips.LongClip, RunTimeTicks = ticks, MediaStreams = wrong });
        var job = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 2, Media = media });
        Assert.Equal(2560, job.Width);

        var done = await Finished(engine, job.JobId);
        Assert.Equal(JobState.Failed, done.State);
        Assert.Equal("the request's media does not match the file: size 1280x720 (ffprobe: 640x360)", done.Error?.Message);
    }

    private static async Task<JobStatus> Finished(JellyscaleEngine engine, string jobId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var status = engine.GetStatus(jobId);
            if (status.State is JobState.Done or JobState.Failed or JobState.Cancelled || DateTime.UtcNow > deadline)
            {
                return status;
            }

            await Task.Delay(100);
        }
    }
}
