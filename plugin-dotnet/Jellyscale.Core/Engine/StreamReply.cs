using System;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;

namespace Jellyscale.Core.Engine;

/// <summary>
/// The engine's answer to one request for a stream path (<c>jellyscale_request</c>), as an HTTP
/// server sends it: a text body, <see cref="Length"/> bytes from <see cref="Offset"/> of an open
/// <see cref="File"/>, a refused range (416) or an error status. The plugin decides nothing about
/// names, ranges or status codes: every rule is the engine's.
/// </summary>
public sealed class StreamReply : IDisposable
{
    /// <summary>Gets the HTTP status to answer with.</summary>
    public int HttpStatus { get; init; }

    /// <summary>Gets the Content-Type, when the reply has a body.</summary>
    public string? Mime { get; init; }

    /// <summary>Gets the Cache-Control value (playlists change while the job runs).</summary>
    public string? CacheControl { get; init; }

    /// <summary>Gets the text body of a playlist or status reply.</summary>
    public string? Body { get; init; }

    /// <summary>
    /// Gets the open file of a file reply. The reply owns it: disposing the reply closes it, exactly
    /// once, whether or not it was sent.
    /// </summary>
    public SafeFileHandle? File { get; init; }

    /// <summary>Gets the first byte of <see cref="File"/> to send.</summary>
    public long Offset { get; init; }

    /// <summary>Gets the number of bytes to send.</summary>
    public long Length { get; init; }

    /// <summary>Gets the resource's whole length (files and refused ranges).</summary>
    public long? Total { get; init; }

    /// <summary>Gets the Content-Range value of a 206 or 416 reply.</summary>
    public string? ContentRange { get; init; }

    /// <summary>Gets the engine's error code of an error reply (<c>not_found</c>, <c>cancelled</c>, ...).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Gets the engine's error message of an error reply.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Closes the file, if any.</summary>
    public void Dispose() => File?.Dispose();
}

/// <summary>The JSON of a <c>jellyscale_request</c> callback: a reply or an error, one shape for both.</summary>
internal sealed record StreamReplyJson
{
    public int HttpStatus { get; init; }

    public string? Mime { get; init; }

    public string? CacheControl { get; init; }

    public string? Body { get; init; }

    public int? Fd { get; init; }

    public long Offset { get; init; }

    public long Length { get; init; }

    public long? Total { get; init; }

    public string? ContentRange { get; init; }

    public string? Code { get; init; }

    public string? Message { get; init; }
}

/// <summary>Options of <c>jellyscale_cleanup</c>.</summary>
public sealed record CleanupOptions
{
    /// <summary>Gets the age limit in days (null or 0: none).</summary>
    public int? MaxAgeDays { get; init; }

    /// <summary>Gets the size budget in bytes (null or 0: none).</summary>
    public long? MaxTotalBytes { get; init; }
}

/// <summary>What <c>jellyscale_cleanup</c> deleted.</summary>
public sealed record CleanupResult
{
    /// <summary>Gets the deleted files and folders.</summary>
    public System.Collections.Generic.IReadOnlyList<string> Deleted { get; init; } = [];

    /// <summary>Gets the bytes freed.</summary>
    [JsonPropertyName("freed_bytes")]
    public long FreedBytes { get; init; }
}

/// <summary>Source-generated JSON for the callback's reply (internal, like the shape it reads).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StreamReplyJson))]
internal sealed partial class ReplyJsonContext : JsonSerializerContext
{
}
