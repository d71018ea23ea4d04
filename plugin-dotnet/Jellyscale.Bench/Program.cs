using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;
using Jellyscale.Tests.Support;

namespace Jellyscale.Bench;

/// <summary>
/// Serving throughput of ready segments through the plugin's StreamsController in Kestrel beside
/// <c>jellyscale serve</c>, in one run with one client, so their ratio is fair: both serve a
/// finished job (segments are byte ranges of the verified final file) of the same source with the
/// same encode settings. Not a test: nothing asserts timing; exit 1 on HTTP errors, 2 on a setup failure.
/// </summary>
internal static class Program
{
    private const int SourceHeight = 180;
    private const int SegmentSeconds = 2;
    private static readonly TimeSpan Round = TimeSpan.FromSeconds(8);

    public static async Task<int> Main()
    {
        try
        {
            return await RunAsync();
        }
#pragma warning disable CA1031 // Whatever breaks the setup ends the run with one line, like a failed test would.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine("error: " + e.GetBaseException().Message);
            return 2;
        }
    }

    private static async Task<int> RunAsync()
    {
        var repo = RepoRoot();
        var library = NativeLibraryPath(repo);
        // JELLYSCALE_CLI measures another build of the CLI server against the same plugin run.
        var cli = Environment.GetEnvironmentVariable("JELLYSCALE_CLI") is { Length: > 0 } other ? other : Path.Combine(repo, "target", "release", "jellyscale");
        if (!File.Exists(cli))
        {
            await ExecAsync("cargo", repo, "build", "--release", "--locked");
        }

        using var tmp = new TempDir();
        var clip = Path.Combine(tmp.Path, "clip.mp4");
        await ExecAsync(
            "ffmpeg", tmp.Path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size={SourceHeight * 16 / 9}x{SourceHeight}:rate=24",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip);
        Console.WriteLine($"library: {library}");
        Console.WriteLine($"cli:     {cli}");
        Console.WriteLine($"load:    {LoadAverage()}");

        // Both encode at once; each has its own cache and output folders.
        var encoding = Stopwatch.StartNew();
        using var cliServer = await CliServer.StartAsync(cli, clip, Directory.CreateDirectory(Path.Combine(tmp.Path, "cli")).FullName);
        var pluginRoot = Path.Combine(tmp.Path, "plugin");
        await using var plugin = await PluginServer.StartAsync(library, clip, SourceHeight, new EngineConfig
        {
            CacheDir = Path.Combine(pluginRoot, "cache"),
            OutputDir = Path.Combine(pluginRoot, "out"),
            Backend = "cpu",
            MaxConcurrentJobs = 1,
            SegmentSeconds = SegmentSeconds,
        });
        using var setup = Load.NewClient();
        var master = await plugin.PlaybackUrlAsync(setup);
        var jobId = master.Segments[3].TrimEnd('/');
        var cliStatus = await WaitDoneAsync("jellyscale serve", cliServer.StatusAsync);
        var pluginStatus = await WaitDoneAsync("the plugin's engine", () => Task.FromResult(plugin.Engine.GetStatus(jobId)));
        if (cliStatus.SegmentCount != pluginStatus.SegmentCount || cliStatus.Height != pluginStatus.Height || cliStatus.Codec != pluginStatus.Codec)
        {
            throw new InvalidOperationException(
                $"the two jobs differ: CLI {cliStatus.Codec} {cliStatus.Height}p {cliStatus.SegmentCount} segments, plugin {pluginStatus.Codec} {pluginStatus.Height}p {pluginStatus.SegmentCount} segments");
        }

        Console.WriteLine(Invariant(
            $"both jobs done in {encoding.Elapsed.TotalSeconds:F1} s: 60 s clip, {cliStatus.SourceWidth}x{cliStatus.SourceHeight} -> {cliStatus.Width}x{cliStatus.Height} {cliStatus.Codec} ultrafast, {cliStatus.SegmentCount} segments of {SegmentSeconds} s, served from the final file"));

        var cliMain = new Uri(cliServer.BaseUrl, "main.m3u8");
        var pluginMain = new Uri(master, "main.m3u8" + master.Query);
        var servers = new[]
        {
            (Name: "CLI", Main: cliMain, Segments: await SegmentsAsync(setup, cliMain, cliStatus.SegmentCount)),
            (Name: "plugin", Main: pluginMain, Segments: await SegmentsAsync(setup, pluginMain, pluginStatus.SegmentCount)),
        };

        // One pass over every segment first (each must answer 200): the plugin's code is then
        // jitted and both final files are in the page cache when the clock starts.
        foreach (var server in servers)
        {
            long total = 0;
            foreach (var segment in server.Segments)
            {
                total += (await setup.GetByteArrayAsync(segment)).Length;
            }

            Console.WriteLine(Invariant($"{server.Name}: {server.Main.GetLeftPart(UriPartial.Path)}, mean segment {total / 1e3 / server.Segments.Count:F0} kB"));
        }

        var rows = new (string Label, bool Playlist, int Clients)[]
        {
            ("segments, 1 client", false, 1),
            ("segments, 50 clients", false, 50),
            ("main.m3u8, 1 client", true, 1),
            ("main.m3u8, 50 clients", true, 50),
        };
        Console.WriteLine();
        Console.WriteLine(Invariant($"Serving a finished job: {Round.TotalSeconds:F0} s per row, HttpClient clients in this process (one client and connection each), the plugin's Kestrel in this process too"));
        Console.WriteLine(Invariant($"{"server",-7} {"row",-22} {"requests",8} {"req/s",9} {"MB/s",8} {"p50",10} {"p99",10} {"errors",6} {"plugin/CLI",10}"));
        var errors = 0;
        foreach (var (label, playlist, clients) in rows)
        {
            double? cliRate = null;
            foreach (var server in servers)
            {
                var result = await Load.RunAsync(playlist ? [server.Main] : server.Segments, clients, Round);
                var ratio = cliRate is { } baseline ? Invariant($"{result.RequestsPerSecond / baseline:F2}") : string.Empty;
                cliRate ??= result.RequestsPerSecond;
                Console.WriteLine(Invariant(
                    $"{server.Name,-7} {label,-22} {result.Requests,8} {result.RequestsPerSecond,9:F1} {result.MegabytesPerSecond,8:F1} {Format(result.Percentile(0.5)),10} {Format(result.Percentile(0.99)),10} {result.Errors,6} {ratio,10}"));
                if (result.Errors > 0)
                {
                    Console.Error.WriteLine($"{server.Name}, {label}: first error: {result.FirstError}");
                    errors += result.Errors;
                }
            }
        }

        Console.WriteLine($"load:    {LoadAverage()}");
        return errors == 0 ? 0 : 1;
    }

    private static async Task<JobStatus> WaitDoneAsync(string what, Func<Task<JobStatus>> status)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var current = await status();
            if (current.State == JobState.Done)
            {
                return current;
            }

            if (!current.IsActive || deadline.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new InvalidOperationException($"{what}: job {current.State} after {deadline.Elapsed.TotalSeconds:F0} s {current.Error?.Message}");
            }

            await Task.Delay(250);
        }
    }

    private static async Task<List<Uri>> SegmentsAsync(HttpClient client, Uri playlist, int expected)
    {
        var text = await client.GetStringAsync(playlist);
        var segments = text.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => new Uri(playlist, line))
            .ToList();
        if (segments.Count != expected)
        {
            throw new InvalidOperationException($"{playlist} lists {segments.Count} segments, the job has {expected}");
        }

        return segments;
    }

    /// <summary>The folder holding plugin-dotnet, found from the build output so any working directory works.</summary>
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "plugin-dotnet")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    /// <summary>JELLYSCALE_LIB, else the release build (the CLI server is a release build too), else the debug build.</summary>
    private static string NativeLibraryPath(string repo)
    {
        var path = Environment.GetEnvironmentVariable("JELLYSCALE_LIB");
        if (string.IsNullOrEmpty(path))
        {
            path = Path.Combine(repo, "target", "release", "libjellyscale.so");
            var debug = Path.Combine(repo, "target", "debug", "libjellyscale.so");
            if (!File.Exists(path) && File.Exists(debug))
            {
                path = debug;
            }
        }

        return File.Exists(path) ? path : throw new InvalidOperationException($"libjellyscale not found at {path} (set JELLYSCALE_LIB, or cargo build --release)");
    }

    private static async Task ExecAsync(string file, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + file);
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}");
        }
    }

    private static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string Format(TimeSpan t)
        => t < TimeSpan.FromMilliseconds(1) ? Invariant($"{t.TotalMicroseconds:F0} µs") : Invariant($"{t.TotalMilliseconds:F2} ms");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
