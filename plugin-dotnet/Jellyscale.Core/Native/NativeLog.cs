using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jellyscale.Core.Native;

/// <summary>Forwards the library's log records to an <see cref="ILogger"/> (Jellyfin's, in the plugin).</summary>
public static unsafe class NativeLog
{
    private static ILogger _logger = NullLogger.Instance;

    /// <summary>Gets or sets the logger that receives library log records; the library's callback is process-wide.</summary>
    public static ILogger Logger
    {
        get => _logger;
        set => _logger = value ?? NullLogger.Instance;
    }

    /// <summary>Maps the library's level (1 error .. 5 trace) to a <see cref="LogLevel"/>.</summary>
    /// <param name="level">The library level.</param>
    /// <returns>The log level.</returns>
    public static LogLevel ToLogLevel(uint level) => level switch
    {
        1 => LogLevel.Error,
        2 => LogLevel.Warning,
        3 => LogLevel.Information,
        4 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };

    internal static void Install()
        => NativeMethods.jellyscale_set_log_callback(&OnLog, IntPtr.Zero);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnLog(IntPtr userData, uint level, IntPtr target, IntPtr message)
    {
        // An exception must never unwind into the library's thread.
        try
        {
            var logLevel = ToLogLevel(level);
            var logger = _logger;
            if (logger.IsEnabled(logLevel))
            {
#pragma warning disable CA1848, CA2254 // The message is the library's own text, not a template.
                logger.Log(logLevel, "[{Target}] {Message}", Marshal.PtrToStringUTF8(target), Marshal.PtrToStringUTF8(message));
#pragma warning restore CA1848, CA2254
            }
        }
        catch (Exception)
        {
            // Logging is best effort.
        }
    }
}
