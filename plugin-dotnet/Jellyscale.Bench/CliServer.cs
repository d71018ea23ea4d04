using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Engine;

namespace Jellyscale.Bench;

/// <summary><c>jellyscale serve</c> in its own process, with its own cache and output folders.</summary>
internal sealed class CliServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr;
    private readonly HttpClient _client = Load.NewClient();

    private CliServer(Process process, StringBuilder stderr)
    {
        _process = process;
        _stderr = stderr;
    }

    public Uri BaseUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Starts the server on a free port and reads the address it prints.</summary>
    public static async Task<CliServer> StartAsync(string binary, string input, string root)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "serve", input, "--listen", "127.0.0.1:0",
            "--cache-dir", Path.Combine(root, "cache"), "--out", Path.Combine(root, "out"),
            "--backend", "cpu", "--codec", "h264", "--scale", "2", "--segment-seconds", "2", "--preset", "ultrafast",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + binary);
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();

        var server = new CliServer(process, stderr);
        try
        {
            // The first line is "serving http://ADDR/master.m3u8"; the port was picked by the OS.
            const string Prefix = "serving ";
            const string Suffix = "master.m3u8";
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null || !line.StartsWith(Prefix, StringComparison.Ordinal) || !line.EndsWith(Suffix, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"jellyscale serve printed {line ?? "nothing"}: {server.Stderr}");
            }

            server.BaseUrl = new Uri(line[Prefix.Length..^Suffix.Length]);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Gets what the server wrote to stderr so far, for error messages.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public async Task<JobStatus> StatusAsync()
    {
        var json = await _client.GetStringAsync(new Uri(BaseUrl, "status"));
        return JsonSerializer.Deserialize(json, EngineJsonContext.Default.JobStatus) ?? throw new InvalidOperationException("empty status: " + json);
    }

    public void Dispose()
    {
        _client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
