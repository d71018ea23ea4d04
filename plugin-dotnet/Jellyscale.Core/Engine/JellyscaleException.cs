using System;
using System.Text.Json;
using Jellyscale.Core.Native;

namespace Jellyscale.Core.Engine;

/// <summary>A non-OK status from libjellyscale, with the library's error code and message.</summary>
public sealed class JellyscaleException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="JellyscaleException"/> class.</summary>
    /// <param name="status">The status.</param>
    /// <param name="code">The error code string, e.g. <c>not_found</c>.</param>
    /// <param name="message">The message.</param>
    public JellyscaleException(JellyscaleStatus status, string code, string message)
        : base($"{code}: {message}")
    {
        Status = status;
        Code = code;
        Detail = message;
    }

    /// <summary>Initializes a new instance of the <see cref="JellyscaleException"/> class.</summary>
    public JellyscaleException()
        : this(JellyscaleStatus.Internal, "internal", "unknown error")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="JellyscaleException"/> class.</summary>
    /// <param name="message">The message.</param>
    public JellyscaleException(string message)
        : this(JellyscaleStatus.Internal, "internal", message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="JellyscaleException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public JellyscaleException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = JellyscaleStatus.Internal;
        Code = "internal";
        Detail = message;
    }

    /// <summary>Gets the status code.</summary>
    public JellyscaleStatus Status { get; }

    /// <summary>Gets the error code string.</summary>
    public string Code { get; }

    /// <summary>Gets the library's message.</summary>
    public string Detail { get; }

    /// <summary>The code string the library uses for a status.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The code.</returns>
    public static string CodeOf(JellyscaleStatus status) => status switch
    {
        JellyscaleStatus.Ok => "ok",
        JellyscaleStatus.InvalidArgument => "invalid_argument",
        JellyscaleStatus.NotFound => "not_found",
        JellyscaleStatus.BadInput => "bad_input",
        JellyscaleStatus.Ffmpeg => "ffmpeg",
        JellyscaleStatus.Busy => "busy",
        JellyscaleStatus.Io => "io",
        JellyscaleStatus.Timeout => "timeout",
        JellyscaleStatus.Cancelled => "cancelled",
        JellyscaleStatus.ShuttingDown => "shutting_down",
        _ => "internal",
    };

    /// <summary>Builds the exception for a status and the library's optional error JSON.</summary>
    /// <param name="status">The status.</param>
    /// <param name="errorJson">The <c>{"code","message"}</c> JSON, or null.</param>
    /// <returns>The exception.</returns>
    public static JellyscaleException FromStatus(JellyscaleStatus status, string? errorJson)
    {
        var code = CodeOf(status);
        var message = "libjellyscale returned " + code;
        if (!string.IsNullOrEmpty(errorJson))
        {
            try
            {
                var error = JsonSerializer.Deserialize(errorJson, EngineJsonContext.Default.EngineError);
                if (error is not null)
                {
                    code = string.IsNullOrEmpty(error.Code) ? code : error.Code;
                    message = error.Message ?? message;
                }
            }
            catch (JsonException)
            {
                message = errorJson;
            }
        }

        return new JellyscaleException(status, code, message);
    }
}
