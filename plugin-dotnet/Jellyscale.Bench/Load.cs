using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace Jellyscale.Bench;

/// <summary>What one round of clients measured.</summary>
internal sealed record RoundResult(int Requests, long Bytes, TimeSpan Wall, long[] SortedTicks, int Errors, string? FirstError)
{
    public double RequestsPerSecond => Requests / Wall.TotalSeconds;

    public double MegabytesPerSecond => Bytes / 1e6 / Wall.TotalSeconds;

    /// <summary>The same rank rule as benches/serving.rs, so the two tables read alike.</summary>
    public TimeSpan Percentile(double q)
        => SortedTicks.Length == 0
            ? TimeSpan.Zero
            : Stopwatch.GetElapsedTime(0, SortedTicks[Math.Min((int)(SortedTicks.Length * q), SortedTicks.Length - 1)]);
}

/// <summary>The one client both servers are measured with.</summary>
internal static class Load
{
    /// <summary>A client of its own per simulated viewer, so each keeps one keep-alive connection like a player.</summary>
    public static HttpClient NewClient() => new(new SocketsHttpHandler
    {
        // The build machines route outbound traffic through a proxy; 127.0.0.1 must never go there.
        UseProxy = false,
        AllowAutoRedirect = false,
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary><paramref name="clients"/> clients each GET <paramref name="urls"/> round-robin, from different starting points, until <paramref name="duration"/> is up.</summary>
    public static async Task<RoundResult> RunAsync(IReadOnlyList<Uri> urls, int clients, TimeSpan duration)
    {
        var began = Stopwatch.GetTimestamp();
        var end = began + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(urls, c * 7, end))).ToArray();
        var results = await Task.WhenAll(workers);
        var wall = Stopwatch.GetElapsedTime(began);
        var ticks = results.SelectMany(r => r.Latencies).ToArray();
        Array.Sort(ticks);
        return new RoundResult(
            ticks.Length,
            results.Sum(r => r.Bytes),
            wall,
            ticks,
            results.Sum(r => r.Errors),
            results.Select(r => r.FirstError).FirstOrDefault(e => e is not null));
    }

    private static async Task<(List<long> Latencies, long Bytes, int Errors, string? FirstError)> ClientAsync(IReadOnlyList<Uri> urls, int first, long end)
    {
        using var client = NewClient();

        // One buffer per client: the body is read whole but never kept, so the client's own
        // allocations do not weigh on the server sharing these cores.
        var buffer = new byte[64 * 1024];
        var latencies = new List<long>();
        long bytes = 0;
        var errors = 0;
        string? firstError = null;
        for (var i = first; Stopwatch.GetTimestamp() < end; i++)
        {
            var url = urls[i % urls.Count];
            var started = Stopwatch.GetTimestamp();
            string? error;
            try
            {
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                long length = 0;
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    await using var body = await response.Content.ReadAsStreamAsync();
                    int read;
                    while ((read = await body.ReadAsync(buffer)) > 0)
                    {
                        length += read;
                    }
                }

                bytes += length;
                error = response.StatusCode != HttpStatusCode.OK ? $"{url}: HTTP {(int)response.StatusCode}"
                    : length == 0 ? $"{url}: empty body"
                    : null;
            }
            catch (HttpRequestException e)
            {
                error = $"{url}: {e.Message}";
            }
            catch (IOException e)
            {
                error = $"{url}: {e.Message}";
            }
            catch (TaskCanceledException)
            {
                error = $"{url}: no answer within {client.Timeout.TotalSeconds} s";
            }

            latencies.Add(Stopwatch.GetTimestamp() - started);
            if (error is not null)
            {
                errors++;
                firstError ??= error;
            }
        }

        return (latencies, bytes, errors, firstError);
    }
}
