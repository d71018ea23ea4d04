using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;

namespace Jellyscale.Tests.Support;

/// <summary>An engine stand-in for tests of the Jellyfin-facing code: records requests, answers as told.</summary>
public sealed class FakeEngine : IStreamEngine, IStreamEngineProvider
{
    public const string JobId = "0123456789abcdef0123456789abcdef";

    public ConcurrentQueue<StreamRequest> Requests { get; } = new();

    public Func<StreamRequest, JobStatus> OnStart { get; set; } = request => Running(request.Codec);

    public IStreamEngine Engine => this;

    public static JobStatus Running(string codec) => new()
    {
        JobId = JobId,
        State = JobState.Running,
        Codec = codec,
        Width = 3840,
        Height = 2160,
        SegmentCount = 10,
        SegmentContainer = codec == "hevc" ? "mp4" : "ts",
        Codecs = codec == "hevc" ? "hvc1.1.6.L150.90,mp4a.40.2" : "avc1.640033,mp4a.40.2",
        Bandwidth = 20_000_000,
    };

    public JobStatus StartStream(StreamRequest request)
    {
        Requests.Enqueue(request);
        return OnStart(request);
    }

    public JobStatus GetStatus(string jobId) => Running("h264");

    public void Cancel(string jobId)
    {
    }

    public IReadOnlyList<JobStatus> ListJobs() => new[] { Running("h264") };

    public Task<StreamReply> RequestAsync(string jobId, string path, string? uriQuery, string? range, TimeSpan timeout, CancellationToken cancellationToken)
        => throw new NotSupportedException("the HLS controller is tested against the real engine");

    public CleanupResult Cleanup(CleanupOptions options) => new();


    public EngineInfo GetInfo() => Info;


    public EngineInfo Info { get; set; } = new() { Backend = "nvenc", Hardware = true, HevcHardware = true };
}
