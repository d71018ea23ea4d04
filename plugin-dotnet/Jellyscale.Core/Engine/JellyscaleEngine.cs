using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Jellyscale.Core.Native;
using Microsoft.Win32.SafeHandles;

namespace Jellyscale.Core.Engine;

/// <summary>The real engine: one libjellyscale engine handle, thread-safe like the library itself.</summary>
public sealed unsafe class JellyscaleEngine : IStreamEngine, IDisposable
{
    private readonly EngineHandle _handle;
    private EngineInfo? _info;

    private JellyscaleEngine(EngineHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Loads the library from <paramref name="libraryPath"/> and creates an engine.</summary>
    /// <param name="libraryPath">Full path of libjellyscale.so.</param>
    /// <param name="config">The configuration.</param>
    /// <returns>The engine.</returns>
    /// <exception cref="JellyscaleException">The library rejected the configuration.</exception>
    public static JellyscaleEngine Create(string libraryPath, EngineConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return CreateFromJson(libraryPath, JsonSerializer.Serialize(config, EngineJsonContext.Default.EngineConfig));
    }

    /// <summary>Creates an engine from configuration JSON as given (tests use it to send what the typed config cannot).</summary>
    /// <param name="libraryPath">Full path of libjellyscale.so.</param>
    /// <param name="json">The configuration JSON.</param>
    /// <returns>The engine.</returns>
    internal static JellyscaleEngine CreateFromJson(string libraryPath, string json)
    {
        NativeLibraryLoader.Load(libraryPath);
        var status = NativeMethods.jellyscale_engine_new(json, out var handle, out var error);
        var errorJson = NativeMethods.TakeString(error);
        if (status != JellyscaleStatus.Ok)
        {
            handle.SetHandleAsInvalid();
            handle.Dispose();
            throw JellyscaleException.FromStatus(status, errorJson);
        }

        return new JellyscaleEngine(handle);
    }

    /// <inheritdoc />
    public JobStatus StartStream(StreamRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var json = JsonSerializer.Serialize(request, EngineJsonContext.Default.StreamRequest);
        var status = NativeMethods.jellyscale_start_stream(_handle, json, out var result);
        return Deserialize(status, result, EngineJsonContext.Default.JobStatus);
    }

    /// <inheritdoc />
    public JobStatus GetStatus(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var status = NativeMethods.jellyscale_status(_handle, jobId, out var result);
        return Deserialize(status, result, EngineJsonContext.Default.JobStatus);
    }

    /// <inheritdoc />
    public void Cancel(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var status = NativeMethods.jellyscale_cancel(_handle, jobId);
        if (status != JellyscaleStatus.Ok)
        {
            throw JellyscaleException.FromStatus(status, null);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<JobStatus> ListJobs()
    {
        var status = NativeMethods.jellyscale_list_jobs(_handle, out var result);
        return Deserialize(status, result, EngineJsonContext.Default.ListJobStatus);
    }

    /// <summary>Gets the full-length VOD media playlist (<c>jellyscale_playlist</c>; the controller asks <see cref="RequestAsync"/> instead).</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="uriQuery">Query appended to every segment URI (without '?'), or empty.</param>
    /// <returns>The m3u8 text.</returns>
    public string GetPlaylist(string jobId, string uriQuery)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(uriQuery);
        var status = NativeMethods.jellyscale_playlist(_handle, jobId, uriQuery, out var result);
        var text = NativeMethods.TakeString(result);
        if (status != JellyscaleStatus.Ok)
        {
            throw JellyscaleException.FromStatus(status, text);
        }

        return text ?? throw new JellyscaleException("libjellyscale returned no playlist");
    }

    /// <summary>Waits, without blocking a thread, until a segment is complete (<c>jellyscale_wait_segment</c>).</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="index">The segment index.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancelled when the caller stops waiting.</param>
    /// <returns>The ready segment.</returns>
    public Task<SegmentInfo> WaitSegmentAsync(string jobId, int index, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<SegmentInfo>(cancellationToken);
        }

        var timeoutMs = (uint)Math.Clamp(timeout.TotalMilliseconds, 0, uint.MaxValue);
        var waiter = new SegmentWaiter();

        // The handle keeps the waiter alive until the library's callback, which fires exactly once
        // for an accepted wait, even when the engine is freed first.
        var gcHandle = GCHandle.Alloc(waiter);
        JellyscaleStatus status;
        try
        {
            status = NativeMethods.jellyscale_wait_segment(_handle, jobId, (uint)index, timeoutMs, &OnSegment, GCHandle.ToIntPtr(gcHandle));
        }
        catch
        {
            gcHandle.Free();
            throw;
        }

        if (status != JellyscaleStatus.Ok)
        {
            // A rejected wait never calls back.
            gcHandle.Free();
            return Task.FromException<SegmentInfo>(JellyscaleException.FromStatus(status, null));
        }

        if (cancellationToken.CanBeCanceled)
        {
            // The native wait runs on to its own timeout; only our await ends early.
            waiter.Registration = cancellationToken.Register(
                static state => ((SegmentWaiter)state!).Completion.TrySetCanceled(),
                waiter);
        }

        return waiter.Completion.Task;
    }

    /// <inheritdoc />
    public Task<StreamReply> RequestAsync(string jobId, string path, string? uriQuery, string? range, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(path);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<StreamReply>(cancellationToken);
        }

        var timeoutMs = (uint)Math.Clamp(timeout.TotalMilliseconds, 0, uint.MaxValue);
        var waiter = new ReplyWaiter();

        // The handle keeps the waiter alive until the callback, which fires exactly once for an
        // accepted request (with SHUTTING_DOWN when the engine is freed first).
        var gcHandle = GCHandle.Alloc(waiter);
        JellyscaleStatus status;
        try
        {
            status = NativeMethods.jellyscale_request(_handle, jobId, path, uriQuery, range, timeoutMs, &OnReply, GCHandle.ToIntPtr(gcHandle));
        }
        catch
        {
            gcHandle.Free();
            throw;
        }

        if (status != JellyscaleStatus.Ok)
        {
            // A refused request never calls back.
            gcHandle.Free();
            return Task.FromException<StreamReply>(JellyscaleException.FromStatus(status, null));
        }

        if (cancellationToken.CanBeCanceled)
        {
            // The engine's wait runs on to its own timeout; only our await ends early, and a file
            // that arrives after that is closed by the waiter.
            waiter.Registration = cancellationToken.Register(
                static state => ((ReplyWaiter)state!).Completion.TrySetCanceled(),
                waiter);
        }

        return waiter.Completion.Task;
    }

    /// <inheritdoc />
    public EngineInfo GetInfo()
    {
        // The engine's answer never changes (its HEVC test encode runs once): ask once.
        if (_info is { } known)
        {
            return known;
        }

        var status = NativeMethods.jellyscale_engine_info(_handle, out var result);
        return _info = Deserialize(status, result, EngineJsonContext.Default.EngineInfo);
    }

    /// <inheritdoc />
    public CleanupResult Cleanup(CleanupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var json = JsonSerializer.Serialize(options, EngineJsonContext.Default.CleanupOptions);
        var status = NativeMethods.jellyscale_cleanup(_handle, json, out var result);
        return Deserialize(status, result, EngineJsonContext.Default.CleanupResult);
    }

    /// <summary>Frees the engine; the library stops its ffmpeg children and completes pending waits with an error.</summary>
    public void Dispose() => _handle.Dispose();

    private static T Deserialize<T>(JellyscaleStatus status, IntPtr result, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        var json = NativeMethods.TakeString(result);
        if (status != JellyscaleStatus.Ok)
        {
            throw JellyscaleException.FromStatus(status, json);
        }

        if (json is null)
        {
            throw new JellyscaleException("libjellyscale returned OK without a result");
        }

        return JsonSerializer.Deserialize(json, typeInfo) ?? throw new JellyscaleException("libjellyscale returned null");
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnSegment(IntPtr userData, JellyscaleStatus status, IntPtr json)
    {
        // Runs on an engine thread: nothing may throw back into the library.
        try
        {
            var gcHandle = GCHandle.FromIntPtr(userData);
            var waiter = (SegmentWaiter)gcHandle.Target!;
            gcHandle.Free();
            waiter.Complete(status, Marshal.PtrToStringUTF8(json));
        }
        catch (Exception)
        {
            // Nothing sensible to do on a foreign thread; the awaiting request times out on its own.
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnReply(IntPtr userData, JellyscaleStatus status, IntPtr json)
    {
        // Runs on an engine thread: nothing may throw back into the library.
        try
        {
            var gcHandle = GCHandle.FromIntPtr(userData);
            var waiter = (ReplyWaiter)gcHandle.Target!;
            gcHandle.Free();
            waiter.Complete(status, Marshal.PtrToStringUTF8(json));
        }
        catch (Exception)
        {
            // Nothing sensible to do on a foreign thread; the awaiting request times out on its own.
        }
    }

    /// <summary>Turns a callback's JSON into a reply; the descriptor is owned from the first moment.</summary>
    /// <param name="status">The callback's status.</param>
    /// <param name="json">The callback's JSON.</param>
    /// <returns>The reply.</returns>
    internal static StreamReply ParseReply(JellyscaleStatus status, string? json)
    {
        if (json is null)
        {
            return new StreamReply { HttpStatus = 500, ErrorCode = "internal", ErrorMessage = "request callback without JSON" };
        }

        using var document = JsonDocument.Parse(json);

        // Wrap the descriptor before anything else can fail, so it is closed exactly once whatever follows.
        SafeFileHandle? file = null;
        if (document.RootElement.TryGetProperty("fd", out var fd) && fd.ValueKind == JsonValueKind.Number)
        {
            file = new SafeFileHandle(new IntPtr(fd.GetInt32()), ownsHandle: true);
        }

        try
        {
            var reply = document.RootElement.Deserialize(ReplyJsonContext.Default.StreamReplyJson)
                ?? throw new JsonException("null reply");
            return new StreamReply
            {
                // An error without its HTTP status (an older library) is a server error.
                HttpStatus = reply.HttpStatus != 0 ? reply.HttpStatus : (status == JellyscaleStatus.Ok ? 200 : 500),
                Mime = reply.Mime,
                CacheControl = reply.CacheControl,
                Body = reply.Body,
                File = file,
                Offset = reply.Offset,
                Length = reply.Length,
                Total = reply.Total,
                ContentRange = reply.ContentRange,
                ErrorCode = status == JellyscaleStatus.Ok ? null : reply.Code ?? JellyscaleException.CodeOf(status),
                ErrorMessage = reply.Message,
            };
        }
        catch
        {
            file?.Dispose();
            throw;
        }
    }

    /// <summary>One pending request: completed by the engine's callback, or cancelled first by the client leaving.</summary>
    internal sealed class ReplyWaiter
    {
        public TaskCompletionSource<StreamReply> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>The callback's outcome; a reply nobody awaits any more has its file closed at once.</summary>
        public void Complete(JellyscaleStatus status, string? json)
        {
            Registration.Dispose();
            StreamReply reply;
            try
            {
                reply = ParseReply(status, json);
            }
            catch (JsonException e)
            {
                Completion.TrySetException(new JellyscaleException("request callback JSON unreadable", e));
                return;
            }

            // The client may have gone already (the await was cancelled): nobody will send this
            // reply, so its file is closed here.
            if (!Completion.TrySetResult(reply))
            {
                reply.Dispose();
            }
        }
    }

    private sealed class SegmentWaiter
    {
        public TaskCompletionSource<SegmentInfo> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        public void Complete(JellyscaleStatus status, string? json)
        {
            Registration.Dispose();
            try
            {
                if (status != JellyscaleStatus.Ok)
                {
                    Completion.TrySetException(JellyscaleException.FromStatus(status, json));
                    return;
                }

                var info = json is null ? null : JsonSerializer.Deserialize(json, EngineJsonContext.Default.SegmentInfo);
                if (info is null)
                {
                    Completion.TrySetException(new JellyscaleException("segment callback without JSON"));
                }
                else
                {
                    Completion.TrySetResult(info);
                }
            }
            catch (JsonException e)
            {
                Completion.TrySetException(new JellyscaleException("segment callback JSON unreadable", e));
            }
        }
    }
}
