using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Plugin.Configuration;
using Jellyscale.Plugin.Engine;
using Jellyscale.Tests.Support;
using Xunit;

namespace Jellyscale.Tests.Native;

/// <summary>
/// The typed JSON contract with the engine: the enums name what the engine's source declares, a
/// real engine's statuses in every state it can be driven to parse into them, and every engine
/// setting and request field the plugin sends is one the engine takes.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed partial class EngineContractTests : IDisposable
{
    private readonly MediaClips _clips;
    private readonly TempDir _dir = new();

    public EngineContractTests(MediaClips clips)
    {
        _clips = clips;
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(typeof(JobState), "JobState", "lowercase")]
    [InlineData(typeof(JobRole), "Role", "lowercase")]
    [InlineData(typeof(Verdict), "Verdict", "snake_case")]
    public void Each_enum_names_exactly_the_variants_of_the_engine_enum(Type managed, string rustName, string renameAll)
    {
        var source = File.ReadAllText(Path.Combine(Prerequisites.RepoRoot, "src", "job", "status.rs"));
        var body = Regex.Match(source, @"#\[serde\(rename_all = """ + renameAll + @"""\)\]\s*pub enum " + rustName + @" \{(?<body>[^}]*)\}");
        Assert.True(body.Success, $"pub enum {rustName} with rename_all = {renameAll} not found in src/job/status.rs");
        var variants = VariantPattern().Matches(body.Groups["body"].Value)
            .Select(m => renameAll == "lowercase" ? m.Groups[1].Value.ToLowerInvariant() : Snake(m.Groups[1].Value))
            .ToList();
        // The names the plugin reads and writes, as its JSON contract serializes them.
        var names = Enum.GetValues(managed).Cast<object>()
            .Select(v => JsonSerializer.Deserialize<string>(JsonSerializer.Serialize(v, managed, EngineJsonContext.Default))!)
            .ToList();
        Assert.NotEmpty(variants);
        Assert.Equal(variants, names);
    }

    [SkippableFact]
    public async Task A_real_engine_reports_queued_running_done_cancelled_and_after_a_restart_paused_in_the_typed_status()
    {
        var library = Prerequisites.NativeLibrary();
        Prerequisites.Require(_clips.ShortClip.Length > 0, "ffmpeg is not installed");
        var config = MediaClips.Config(_dir.Path, 4);
        var seen = new HashSet<JobState>();
        var roles = new HashSet<JobRole>();
        string unfinished;
        using (var engine = JellyscaleEngine.Create(library, config))
        {
            // One encoder slot: the second job queues behind the first.
            var first = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2 });
            var second = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 2 });
            seen.Add(first.State);
            seen.Add(second.State);
            Assert.Equal(JobState.Queued, second.State);
            foreach (var rung in first.Rungs)
            {
                roles.Add(engine.GetStatus(rung.JobId).Role);
            }

            roles.Add(first.Role);
            engine.Cancel(second.JobId);
            seen.Add(engine.GetStatus(second.JobId).State);

            // Polled in the typed status all the way: a state the enum lacks fails the parse here.
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (engine.GetStatus(first.JobId).State != JobState.Done && DateTime.UtcNow < deadline)
            {
                seen.UnionWith(engine.ListJobs().Select(j => j.State));
                await Task.Delay(50);
            }

            seen.Add(engine.GetStatus(first.JobId).State);

            // A job left unfinished by the engine's end.
            var third = engine.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 3 });
            unfinished = third.JobId;
            await engine.WaitSegmentAsync(unfinished, 0, TimeSpan.FromSeconds(60), System.Threading.CancellationToken.None);
        }

        using (var restarted = JellyscaleEngine.Create(library, config))
        {
            var found = restarted.GetStatus(unfinished);
            Assert.Equal(JobState.Paused, found.State);
            Assert.True(found.IsUsable && found.IsActive, "a paused job is played and waited for: the engine resumes it when asked");
            seen.Add(found.State);

            // The start that finds it answers paused, and the plugin plays it (the engine resumes it).
            var resumed = restarted.StartStream(new StreamRequest { Input = _clips.LongClip, Codec = "h264", Scale = 3 });
            Assert.Equal(unfinished, resumed.JobId);
            Assert.True(resumed.IsUsable, resumed.State.ToString());
            Assert.True(resumed.IsActive, resumed.State.ToString());
        }

        Assert.Superset(new HashSet<JobState> { JobState.Queued, JobState.Running, JobState.Done, JobState.Cancelled, JobState.Paused }, seen);
        Assert.Equal(new HashSet<JobRole> { JobRole.Upscaled, JobRole.Lower, JobRole.Fallback }, roles);
    }

    [SkippableFact]
    public async Task A_resume_position_in_seconds_starts_the_encoder_at_the_segment_the_engine_cuts_there()
    {
        using var engine = _clips.NewEngine("start-seconds");

        // Segment 0 is 1 s, then 4 s each: 9.5 s lies in segment 3 (9..13 s); 9.5 / 4 would say 2.
        var job = engine.StartStream(new StreamRequest { Input = _clips.ShortClip, Codec = "h264", Scale = 2, StartSeconds = 9.5 });
        var deadline = DateTime.UtcNow.AddMinutes(1);
        var status = job;
        while (status.ReadyRanges.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
            status = engine.GetStatus(job.JobId);
        }

        Assert.NotEmpty(status.ReadyRanges);
        Assert.Equal(3, status.ReadyRanges[0][0]);
    }

    [SkippableFact]
    public void A_cpu_engine_reports_no_hardware_hevc_encoder()
    {
        using var engine = _clips.NewEngine("info");
        var info = engine.GetInfo();
        Assert.Equal("cpu", info.Backend);
        Assert.False(info.Hardware);
        Assert.False(info.HevcHardware);
        Assert.False(string.IsNullOrEmpty(info.HevcReason));
        Assert.Equal("/usr/bin/ffmpeg", info.Ffmpeg);
    }

    [SkippableFact]
    public void Every_engine_setting_is_reachable_from_the_plugin_configuration_and_the_engine_takes_them()
    {
        var library = Prerequisites.NativeLibrary();
        var shader = Path.Combine(_dir.Path, "shader.glsl");
        File.WriteAllText(shader, "// a shader");
        var config = new PluginConfiguration
        {
            CacheDirectory = Path.Combine(_dir.Path, "cache"),
            OutputDirectory = Path.Combine(_dir.Path, "finished"),
            Backend = "cpu",
            MaxConcurrentJobs = 3,
            MaxQueuedJobs = 7,
            SegmentSeconds = 6,
            FirstSegmentSeconds = 2,
            ScaleFactor = 3,
            MaxHeight = 1440,
            VaapiDevice = "/dev/dri/renderD129",
            CpuPreset = "faster",
            ShaderPath = shader,
            ViewerIdleSeconds = 90,
            ResumeUnfinished = true,
            KeyframeReadSeconds = 5,
        };
        var settings = EngineSettings.Build(config, new JellyfinDefaults(_dir.Path, _dir.Path, "/usr/bin/ffmpeg", "/usr/bin/ffprobe", "none", "/dev/dri/renderD128"));
        var json = JsonSerializer.Serialize(settings, EngineJsonContext.Default.EngineConfig);
        using var document = JsonDocument.Parse(json);
        var sent = document.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();

        var source = File.ReadAllText(Path.Combine(Prerequisites.RepoRoot, "src", "config.rs"));
        var body = Regex.Match(source, @"pub struct Config \{(?<body>[^}]*)\}").Groups["body"].Value;
        var fields = FieldPattern().Matches(body).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(17, fields.Count);
        Assert.Equal(fields, sent);

        // The engine refuses unknown fields and values out of range: it takes these.
        using var engine = JellyscaleEngine.CreateFromJson(library, json);
        Assert.Equal("cpu", engine.GetInfo().Backend);
        Assert.True(Directory.Exists(config.CacheDirectory));
    }

    private static string Snake(string pascal) => Regex.Replace(pascal, "(?<!^)([A-Z])", "_$1").ToLowerInvariant();

    [GeneratedRegex(@"^\s*([A-Z][A-Za-z0-9]*),", RegexOptions.Multiline)]
    private static partial Regex VariantPattern();

    [GeneratedRegex(@"^\s*pub ([a-z_]+):", RegexOptions.Multiline)]
    private static partial Regex FieldPattern();
}
