//! The front door through the C ABI: what an HTTP server (the Jellyfin plugin's controller)
//! sends for a path of a job's stream, decided by [`crate::serving`], so no serving rule is
//! written a second time in C#.

use super::args;
use super::boundary::call;
use super::engine::JellyscaleEngine;
use super::status::JellyscaleStatus;
use super::wait::{Callback, JellyscaleSegmentCallback};
use crate::error::Error;
use crate::serving::{self, Reply};
use std::ffi::{c_char, c_void};
use std::os::fd::IntoRawFd;
use std::time::Duration;

/// The JSON a reply is reported as (a file's descriptor passes to the caller here).
fn reply_json(reply: Reply) -> String {
    let status = reply.http_status();
    let content_range = reply.content_range();
    match reply {
        Reply::Text { mime, body } => serde_json::json!({
            "http_status": status, "mime": mime, "cache_control": "no-cache", "body": &*body,
        }),
        Reply::File { mime, file, offset, length, total, .. } => serde_json::json!({
            "http_status": status, "mime": mime, "fd": file.into_raw_fd(), "offset": offset,
            "length": length, "total": total, "content_range": content_range,
        }),
        Reply::RangeNotSatisfiable { total } => serde_json::json!({
            "http_status": status, "total": total, "content_range": content_range,
        }),
    }
    .to_string()
}

/// Answers a request for `path` inside job `job_id`'s stream, as an HTTP server sends it:
/// `master.m3u8`, `main.m3u8`, `init.mp4`, `N.ts`/`N.m4s` and `status` (source and saved file
/// by name only), and the same files of
/// its cheaper rungs under `lower/` and `fallback/`. `uri_query` goes onto every playlist URI
/// (as `jellyscale_playlist` does); `range` is the request's Range header or NULL. A segment or
/// init section not made yet is waited for at most `timeout_ms` (a request far from the encoder
/// moves it there). Returns at once; `callback` fires exactly once, from an engine thread (or
/// from `jellyscale_engine_free` with `SHUTTING_DOWN`), with:
///
/// - `OK` and `{"http_status": 200, "mime", "cache_control", "body"}` for a playlist or status;
/// - `OK` and `{"http_status": 200|206, "mime", "fd", "offset", "length", "total",
///   "content_range"}` for a file: send `length` bytes from `offset` of the open file
///   descriptor `fd` (`total` is the resource's length; `content_range` is set for 206).
///   The descriptor is owned by the caller: close it exactly once;
/// - `OK` and `{"http_status": 416, "total", "content_range"}` for a Range outside the file;
/// - an error status and the error JSON `{"code", "message", "http_status"}`: 404 unknown
///   path, job or segment, 503 not ready in time, 410 cancelled or shutting down, 500 a failed
///   job.
///
/// Ownership: `engine`, `job_id`, `path`, `uri_query` and `range` are borrowed for the call.
/// `callback` and `user_data` must stay valid until the callback fires; the library never
/// dereferences `user_data`.
///
/// Errors (returned, callback not fired): `INVALID_ARGUMENT` (NULL argument other than
/// `uri_query` and `range`, bad UTF-8), `BUSY` (too many requests and waits pending),
/// `SHUTTING_DOWN`.
///
/// # Safety
/// `engine` is NULL or live; the strings are NULL or NUL-terminated; `callback` may be called
/// with `user_data` from any thread.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_request(
    engine: *mut JellyscaleEngine,
    job_id: *const c_char,
    path: *const c_char,
    uri_query: *const c_char,
    range: *const c_char,
    timeout_ms: u32,
    callback: JellyscaleSegmentCallback,
    user_data: *mut c_void,
) -> JellyscaleStatus {
    call(std::ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let (engine, id, path, query, range) = unsafe {
            (
                args::engine(engine)?,
                args::string(job_id, "job_id")?,
                args::string(path, "path")?,
                args::optional_string(uri_query, "uri_query")?,
                args::optional_string(range, "range")?,
            )
        };
        let f = callback.ok_or_else(|| Error::invalid("callback is NULL"))?;
        let ticket = engine.waits().register(Callback::new(f, user_data))?;
        let handle = engine.engine().handle();
        let (id, path, query, range) =
            (id.to_owned(), path.to_owned(), query.unwrap_or("").to_owned(), range.map(str::to_owned));
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        engine.engine().runtime().spawn(async move {
            let result = serving::resolve(&handle, &id, &path, &query, range.as_deref(), timeout).await;
            ticket.complete(result, reply_json, Error::to_http_json);
        });
        Ok(())
    })
}
