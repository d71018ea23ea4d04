//! One error type for the whole engine: a stable code (mapped 1:1 onto the C ABI status) and a
//! human-readable message.

use serde::Serialize;

/// Where an error comes from. The C ABI returns these as `JellyscaleStatus` values and the JSON
/// error objects carry them as snake_case strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A null pointer, bad UTF-8, malformed JSON, an unknown field or an out-of-range value.
    InvalidArgument,
    /// No job with that id, or no segment with that index.
    NotFound,
    /// The source is missing, unreadable, not a video, truncated, or needs no upscaling.
    BadInput,
    /// ffmpeg/ffprobe are missing or failed to start or run.
    Ffmpeg,
    /// The job queue is full.
    Busy,
    /// Disk or file-system failure.
    Io,
    /// A bounded wait ran out.
    Timeout,
    /// The job was cancelled.
    Cancelled,
    /// The engine is shutting down.
    ShuttingDown,
    /// A bug: a caught panic or a broken invariant.
    Internal,
}

impl ErrorCode {
    /// The HTTP status of an error, the one table every server uses: unknown things are 404, a
    /// wait that ran out or a full queue is 503 (the player retries), a cancelled job or an
    /// engine that stops is 410, anything else 500.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::NotFound | ErrorCode::InvalidArgument => 404,
            ErrorCode::Timeout | ErrorCode::Busy => 503,
            ErrorCode::Cancelled | ErrorCode::ShuttingDown => 410,
            _ => 500,
        }
    }
}

/// An engine error: a code plus a message meant for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The category, stable across releases.
    pub code: ErrorCode,
    /// What went wrong, in one line.
    pub message: String,
}

impl Error {
    /// Builds an error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    /// [`ErrorCode::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    /// [`ErrorCode::BadInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadInput, message)
    }
    /// [`ErrorCode::Ffmpeg`].
    pub fn ffmpeg(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Ffmpeg, message)
    }
    /// [`ErrorCode::Io`] with the path that failed; a full disk says so first.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        let full = matches!(err.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT));
        let prefix = if full { "disk full: " } else { "" };
        Self::new(ErrorCode::Io, format!("{prefix}{what} {}: {err}", path.display()))
    }
    /// [`ErrorCode::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// The error as the `{"code": .., "message": ..}` JSON object of the C ABI.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"code":"internal","message":"error not serializable"}"#.to_owned())
    }

    /// [`Error::to_json`] with the HTTP status a server answers it with (`"http_status"`).
    pub fn to_http_json(&self) -> String {
        serde_json::json!({"code": self.code, "message": self.message, "http_status": self.code.http_status()})
            .to_string()
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
