//! The status enum every exported function returns by value.

use crate::error::ErrorCode;

/// The result of every call. `JELLYSCALE_STATUS_OK` is success; any other value comes with the
/// error JSON `{"code": "...", "message": "..."}` in the call's out-string, if it has one.
/// Values are stable and never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JellyscaleStatus {
    /// Success.
    Ok = 0,
    /// A NULL pointer, bad UTF-8, malformed JSON, an unknown field or an out-of-range value.
    InvalidArgument = 1,
    /// No job with that id, or no segment with that index.
    NotFound = 2,
    /// The source is missing, unreadable, not a video, truncated, or needs no upscaling.
    BadInput = 3,
    /// ffmpeg/ffprobe are missing or failed to start or run.
    Ffmpeg = 4,
    /// The job queue is full.
    Busy = 5,
    /// Disk or file-system failure.
    Io = 6,
    /// A bounded wait ran out.
    Timeout = 7,
    /// The job was cancelled.
    Cancelled = 8,
    /// The engine is shutting down (or was freed while a wait was pending).
    ShuttingDown = 9,
    /// A bug in the library: a caught panic or a broken invariant.
    Internal = 99,
}

impl From<ErrorCode> for JellyscaleStatus {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => JellyscaleStatus::InvalidArgument,
            ErrorCode::NotFound => JellyscaleStatus::NotFound,
            ErrorCode::BadInput => JellyscaleStatus::BadInput,
            ErrorCode::Ffmpeg => JellyscaleStatus::Ffmpeg,
            ErrorCode::Busy => JellyscaleStatus::Busy,
            ErrorCode::Io => JellyscaleStatus::Io,
            ErrorCode::Timeout => JellyscaleStatus::Timeout,
            ErrorCode::Cancelled => JellyscaleStatus::Cancelled,
            ErrorCode::ShuttingDown => JellyscaleStatus::ShuttingDown,
            ErrorCode::Internal => JellyscaleStatus::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_maps_to_its_own_status() {
        let codes = [
            ErrorCode::InvalidArgument,
            ErrorCode::NotFound,
            ErrorCode::BadInput,
            ErrorCode::Ffmpeg,
            ErrorCode::Busy,
            ErrorCode::Io,
            ErrorCode::Timeout,
            ErrorCode::Cancelled,
            ErrorCode::ShuttingDown,
            ErrorCode::Internal,
        ];
        let values: Vec<u32> = codes.iter().map(|&c| JellyscaleStatus::from(c) as u32).collect();
        assert_eq!(values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
    }
}
