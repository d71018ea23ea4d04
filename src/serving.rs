//! The front door: what a request for a file of a job's stream gets, written once for every
//! server (`jellyscale serve` and the Jellyfin plugin through the C ABI). Paths inside a job are
//! `master.m3u8`, `main.m3u8`, `init.mp4`, `N.ts`/`N.m4s` (N as the playlist writes it: no
//! leading zeros) and `status`, and the same files of its cheaper rungs under `lower/` and
//! `fallback/` (not their master). URLs never reach the file system: only parsed numbers do.
//! A file reply is an open file (opened while the engine knows it exists, so a segment freed by
//! the finishing job a moment later is still read whole) with the byte range to send.

use crate::engine::EngineHandle;
use crate::error::{Error, ErrorCode, Result};
use crate::job::{FileSlice, Job};
use crate::timeline::Container;
use std::sync::Arc;
use std::time::Duration;

/// MIME type of playlists.
pub const PLAYLIST_MIME: &str = "application/vnd.apple.mpegurl";

/// What to send for a request.
#[derive(Debug)]
pub enum Reply {
    /// A playlist or the status JSON, never cached by clients (it changes as the job runs).
    Text {
        /// Content type.
        mime: &'static str,
        /// The body, shared: every request for the same playlist gets the job's one copy.
        body: std::sync::Arc<str>,
    },
    /// Bytes of a file: `length` bytes from `offset` of `file`, which is `total` bytes of
    /// stream (a segment inside a finished file is its own whole resource).
    File {
        /// Content type.
        mime: &'static str,
        /// The file, open for reading.
        file: std::fs::File,
        /// First byte to send.
        offset: u64,
        /// Bytes to send.
        length: u64,
        /// The resource's whole length.
        total: u64,
        /// `Some((first, last))` when a Range request selected part of it (206).
        range: Option<(u64, u64)>,
    },
    /// The Range asked for lies outside the resource (416, `Content-Range: bytes */total`).
    RangeNotSatisfiable {
        /// The resource's whole length.
        total: u64,
    },
}

impl Reply {
    /// The HTTP status this reply is sent with.
    pub fn http_status(&self) -> u16 {
        match self {
            Reply::Text { .. } | Reply::File { range: None, .. } => 200,
            Reply::File { range: Some(_), .. } => 206,
            Reply::RangeNotSatisfiable { .. } => 416,
        }
    }

    /// `Content-Range` for a partial or refused range.
    pub fn content_range(&self) -> Option<String> {
        match self {
            Reply::File { range: Some((a, b)), total, .. } => Some(format!("bytes {a}-{b}/{total}")),
            Reply::RangeNotSatisfiable { total } => Some(format!("bytes */{total}")),
            _ => None,
        }
    }
}

/// A file a job's stream is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Master,
    Media,
    Status,
    Init,
    Segment(u32, Container),
}

/// Parses a path inside a job: an optional rung name, then a file name.
fn parse(path: &str) -> Option<(Option<&str>, Resource)> {
    let (rung, name) = match path.split_once('/') {
        Some((rung, name)) if matches!(rung, "lower" | "fallback") => (Some(rung), name),
        Some(_) => return None,
        None => (None, path),
    };
    let resource = match name {
        "master.m3u8" if rung.is_none() => Resource::Master,
        "main.m3u8" => Resource::Media,
        "status" => Resource::Status,
        "init.mp4" => Resource::Init,
        _ => {
            let (digits, ext) = name.split_once('.')?;
            let container = match ext {
                "ts" => Container::Ts,
                "m4s" => Container::Mp4,
                _ => return None,
            };
            let canonical = !digits.is_empty()
                && digits.len() <= 6
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            Resource::Segment(canonical.then(|| digits.parse().ok())??, container)
        }
    };
    Some((rung, resource))
}

/// What a Range header asks of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// All of it: no header, or one this server ignores as RFC 9110 allows (several ranges,
    /// another unit, a malformed one).
    Whole,
    /// The inclusive `(first, last)` bytes.
    Part(u64, u64),
    /// It lies outside the resource.
    Unsatisfiable,
}

/// What a Range header asks of a resource of `total` bytes.
pub fn byte_range(header: Option<&str>, total: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return ByteRange::Whole };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return ByteRange::Whole };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(first), Ok(last)) if first <= last => (first, last.min(total.saturating_sub(1))),
        (Ok(first), Err(_)) if b.is_empty() => (first, total.saturating_sub(1)),
        (Err(_), Ok(suffix)) if a.is_empty() && suffix > 0 => (total.saturating_sub(suffix), total.saturating_sub(1)),
        _ => return ByteRange::Whole,
    };
    if total == 0 || range.0 >= total {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part(range.0, range.1)
}

/// Answers a request for `path` inside job `job_id` (`query` goes onto every playlist URI;
/// `range` is the request's Range header). A segment or init section not made yet is waited
/// for, at most `timeout`, and a request far from the encoder moves it there.
pub async fn resolve(
    engine: &EngineHandle,
    job_id: &str,
    path: &str,
    query: &str,
    range: Option<&str>,
    timeout: Duration,
) -> Result<Reply> {
    crate::playlist::check_query(query)?;
    let (rung, resource) = parse(path).ok_or_else(|| Error::not_found("no such resource"))?;
    let mut job = engine.job(job_id)?;
    if let Some(role) = rung {
        job = job
            .rungs()
            .iter()
            .find(|r| r.role().name() == role)
            .cloned()
            .ok_or_else(|| Error::not_found("no such variant"))?;
    }
    let text = |mime, body| Ok(Reply::Text { mime, body });
    match resource {
        Resource::Master => text(PLAYLIST_MIME, engine.master_playlist(job.id(), query)?.into()),
        Resource::Media => text(PLAYLIST_MIME, job.media_playlist(query)?),
        Resource::Status => {
            text("application/json", serde_json::to_string(&job.status().without_paths()).unwrap_or_default().into())
        }
        Resource::Init => send(job.wait_init(timeout).await?, "video/mp4", range),
        Resource::Segment(k, container) => {
            if container != job.plan().container() {
                return Err(Error::not_found("wrong segment type for this stream"));
            }
            segment(&job, k, container, range, timeout).await
        }
    }
}

/// A segment, opened while it exists: the segment files are freed once the finished file
/// holds them, so a miss asks again (the finished file's range comes back then).
async fn segment(
    job: &Arc<Job>,
    k: u32,
    container: Container,
    range: Option<&str>,
    timeout: Duration,
) -> Result<Reply> {
    let mime = match container {
        Container::Ts => "video/mp2t",
        Container::Mp4 => "video/iso.segment",
    };
    for _ in 0..2 {
        let info = job.wait_segment(k, timeout).await?;
        match send(info.data, mime, range) {
            Err(e) if e.code == ErrorCode::Io => continue,
            other => return other,
        }
    }
    Err(Error::new(ErrorCode::Io, "segment moved while being opened"))
}

fn send(slice: FileSlice, mime: &'static str, range: Option<&str>) -> Result<Reply> {
    let file = std::fs::File::open(&slice.path).map_err(|e| Error::io("cannot open", &slice.path, e))?;
    // Never a Content-Length the file cannot fill (a finished file cut short after it was saved).
    let on_disk = file.metadata().map_err(|e| Error::io("cannot read", &slice.path, e))?.len();
    if on_disk < slice.offset + slice.length {
        return Err(Error::new(
            ErrorCode::Internal,
            format!("{} is shorter than it was saved ({on_disk} bytes)", slice.path.display()),
        ));
    }
    let total = slice.length;
    Ok(match byte_range(range, total) {
        ByteRange::Whole => Reply::File { mime, file, offset: slice.offset, length: total, total, range: None },
        ByteRange::Part(a, b) => {
            Reply::File { mime, file, offset: slice.offset + a, length: b - a + 1, total, range: Some((a, b)) }
        }
        ByteRange::Unsatisfiable => Reply::RangeNotSatisfiable { total },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_names_parse() {
        assert_eq!(parse("12.ts"), Some((None, Resource::Segment(12, Container::Ts))));
        assert_eq!(parse("0.m4s"), Some((None, Resource::Segment(0, Container::Mp4))));
        assert_eq!(parse("lower/3.ts"), Some((Some("lower"), Resource::Segment(3, Container::Ts))));
        assert_eq!(parse("fallback/main.m3u8"), Some((Some("fallback"), Resource::Media)));
        assert_eq!(parse("master.m3u8"), Some((None, Resource::Master)));
        for bad in [
            "..",
            "../etc/passwd",
            "1.ts.tmp",
            "-1.ts",
            "007.ts",
            "00.ts",
            "1.mp4",
            ".ts",
            "9999999.ts",
            "1%2F.ts",
            "a.ts",
            "1.ts\0",
            "lower/master.m3u8",
            "upscaled/1.ts",
            "lower/x/1.ts",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_follow_rfc_9110_for_one_range() {
        assert_eq!(byte_range(None, 100), ByteRange::Whole);
        assert_eq!(byte_range(Some("bytes=0-9"), 100), ByteRange::Part(0, 9));
        assert_eq!(byte_range(Some("bytes=90-"), 100), ByteRange::Part(90, 99));
        assert_eq!(byte_range(Some("bytes=-10"), 100), ByteRange::Part(90, 99));
        assert_eq!(byte_range(Some("bytes=-500"), 100), ByteRange::Part(0, 99), "a suffix longer than the file");
        assert_eq!(byte_range(Some("bytes=50-5000"), 100), ByteRange::Part(50, 99), "the last byte is clamped");
        assert_eq!(byte_range(Some("bytes=100-"), 100), ByteRange::Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), ByteRange::Whole, "several ranges: the whole");
        assert_eq!(byte_range(Some("items=0-1"), 100), ByteRange::Whole);
        assert_eq!(byte_range(Some("bytes=9-2"), 100), ByteRange::Whole, "invalid: ignored");
        assert_eq!(byte_range(Some("bytes=0-"), 0), ByteRange::Unsatisfiable);
    }
}
