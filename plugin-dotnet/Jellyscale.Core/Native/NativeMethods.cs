using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Jellyscale.Core.Native;

/// <summary>The C ABI of libjellyscale (include/jellyscale.h), resolved through <see cref="NativeLibraryLoader"/>.</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The import name the resolver maps to the loaded library.</summary>
    internal const string LibraryName = "jellyscale";

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial uint jellyscale_abi_version();

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_engine_new(string configJson, out EngineHandle engine, out IntPtr errorJson);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void jellyscale_engine_free(IntPtr engine);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_start_stream(EngineHandle engine, string requestJson, out IntPtr outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_status(EngineHandle engine, string jobId, out IntPtr outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_cancel(EngineHandle engine, string jobId);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_list_jobs(EngineHandle engine, out IntPtr outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_playlist(EngineHandle engine, string jobId, string uriQuery, out IntPtr outM3u8);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_wait_segment(
        EngineHandle engine,
        string jobId,
        uint index,
        uint timeoutMs,
        delegate* unmanaged[Cdecl]<IntPtr, JellyscaleStatus, IntPtr, void> callback,
        IntPtr userData);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_engine_info(EngineHandle engine, out IntPtr outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_cleanup(EngineHandle engine, string optionsJson, out IntPtr outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial JellyscaleStatus jellyscale_request(
        EngineHandle engine,
        string jobId,
        string path,
        string? uriQuery,
        string? range,
        uint timeoutMs,
        delegate* unmanaged[Cdecl]<IntPtr, JellyscaleStatus, IntPtr, void> callback,
        IntPtr userData);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void jellyscale_set_log_callback(
        delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr, IntPtr, void> callback,
        IntPtr userData);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void jellyscale_string_free(IntPtr s);

    /// <summary>Copies a library-owned string and frees it exactly once; null stays null.</summary>
    /// <param name="s">A string returned through an out parameter.</param>
    /// <returns>The managed copy.</returns>
    internal static string? TakeString(IntPtr s)
    {
        if (s == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(s);
        }
        finally
        {
            jellyscale_string_free(s);
        }
    }
}
