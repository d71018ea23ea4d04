using System;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using Xunit;

namespace Jellyscale.Tests.Support;

/// <summary>
/// Finds what the integration tests need (the real cdylib, ffmpeg, Chromium, node_modules). Missing
/// pieces skip a test on a developer machine and fail it in CI (CI=true), so CI never passes by skipping.
/// </summary>
public static class Prerequisites
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (the folder holding plugin-dotnet).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "plugin-dotnet")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }

    public static string PluginDir => Path.Combine(RepoRoot, "plugin-dotnet");

    /// <summary>JELLYSCALE_LIB, else target/debug/libjellyscale.so of this repository.</summary>
    public static string NativeLibrary()
    {
        var path = Environment.GetEnvironmentVariable("JELLYSCALE_LIB");
        if (string.IsNullOrEmpty(path))
        {
            path = Path.Combine(RepoRoot, "target", "debug", "libjellyscale.so");
        }

        Require(File.Exists(path), $"libjellyscale not found at {path} (set JELLYSCALE_LIB)");
        return path;
    }

    public static string Ffmpeg() => Tool("/usr/bin/ffmpeg");

    public static string Ffprobe() => Tool("/usr/bin/ffprobe");

    public static string Tool(string path)
    {
        Require(File.Exists(path), path + " is not installed");
        return path;
    }

    /// <summary>Skips (developer machine) or fails (CI) when <paramref name="condition"/> is false.</summary>
    public static void Require(bool condition, string what)
    {
        if (condition)
        {
            return;
        }

        if (InCi)
        {
            Assert.Fail("missing in CI: " + what);
        }

        Skip.If(true, what);
    }

    /// <summary>Runs a program to completion and returns (exit code, stdout, stderr).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new System.Threading.CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
