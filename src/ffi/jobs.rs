//! Starting, inspecting and cancelling jobs, and their playlists.

use super::boundary::call;
use super::engine::JellyscaleEngine;
use super::status::JellyscaleStatus;
use super::{args, runtime, strings};
use crate::config::StreamRequest;
use std::ffi::c_char;

/// Starts the upscale job for a request JSON (`{"input": "/path", "codec": "h264"|"hevc",
/// "scale", "max_height", "audio_stream", "start_segment", "start_seconds", "media",
/// "copy_fallback"}`; `start_seconds`, a resume position, picks the segment holding it), or joins
/// the running or finished job for the same source and profile. Probes the source (unless
/// `media` describes it in `jellyscale probe`'s shape: then ffprobe checks that description while
/// the job runs, and a job the file contradicts fails) but never waits for the encode; the job's
/// status JSON comes back at once. With `"copy_fallback": true` (the player decodes the source's
/// H.264 itself) the fallback variant is a copy of the source when its keyframes allow, and the
/// start first reads the whole file once (ffprobe, no decoding) to find them.
///
/// Ownership: `engine` and `request_json` are borrowed for the call. `*out_json` receives the
/// job status JSON on success, the error JSON otherwise; either is owned by the caller: free it
/// with `jellyscale_string_free` exactly once.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument, bad UTF-8, malformed JSON, unknown field),
/// `BAD_INPUT` (missing, unreadable or unusable source), `FFMPEG`, `BUSY` (queue full), `IO`,
/// `SHUTTING_DOWN`.
///
/// # Safety
/// `engine` is NULL or live; `request_json` is NULL or a NUL-terminated string; `out_json` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_start_stream(
    engine: *mut JellyscaleEngine,
    request_json: *const c_char,
    out_json: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_json, || {
        // SAFETY: per this function's contract.
        let (engine, text, out) = unsafe {
            (args::engine(engine)?, args::string(request_json, "request_json")?, args::out(out_json, "out_json")?)
        };
        let request = StreamRequest::from_json(text)?;
        let engine = engine.engine();
        let status = runtime::blocking(|| engine.start(request))?;
        strings::set(out, strings::json(&status)?)
    })
}

/// The status JSON of one job (state, progress, ready segments, final path, error, and how it
/// keeps up: `verdict`, `preset`, `held`, `adaptations`). An upscaled job's `rungs` are its
/// cheaper variants on the same timeline (`lower`, `fallback`), each with its own `job_id`
/// whose status, playlist and segments these same functions serve; a rung's `parent_job_id`
/// names its upscaled job.
///
/// Ownership: `engine` and `job_id` are borrowed for the call. `*out_json` receives the status
/// JSON on success, the error JSON otherwise; either is owned by the caller: free it with
/// `jellyscale_string_free` exactly once.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument, bad UTF-8), `NOT_FOUND` (unknown job).
///
/// # Safety
/// `engine` is NULL or live; `job_id` is NULL or a NUL-terminated string; `out_json` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_status(
    engine: *mut JellyscaleEngine,
    job_id: *const c_char,
    out_json: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_json, || {
        // SAFETY: per this function's contract.
        let (engine, id, out) =
            unsafe { (args::engine(engine)?, args::string(job_id, "job_id")?, args::out(out_json, "out_json")?) };
        let status = engine.engine().status(id)?;
        strings::set(out, strings::json(&status)?)
    })
}

/// Cancels a job: its ffmpeg is stopped, no finished file appears, segments stay for reuse, and
/// its pending segment waits fire with `CANCELLED`. Cancelling a cancelled or finished job is OK.
///
/// Ownership: `engine` and `job_id` are borrowed for the call.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument, bad UTF-8), `NOT_FOUND` (unknown job).
///
/// # Safety
/// `engine` is NULL or live; `job_id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_cancel(engine: *mut JellyscaleEngine, job_id: *const c_char) -> JellyscaleStatus {
    call(std::ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let (engine, id) = unsafe { (args::engine(engine)?, args::string(job_id, "job_id")?) };
        engine.engine().cancel(id)
    })
}

/// The status JSON of every job, as an array sorted by job id.
///
/// Ownership: `engine` is borrowed for the call. `*out_json` receives the array on success, the
/// error JSON otherwise; either is owned by the caller: free it with `jellyscale_string_free`
/// exactly once.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument).
///
/// # Safety
/// `engine` is NULL or live; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_list_jobs(
    engine: *mut JellyscaleEngine,
    out_json: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_json, || {
        // SAFETY: per this function's contract.
        let (engine, out) = unsafe { (args::engine(engine)?, args::out(out_json, "out_json")?) };
        strings::set(out, strings::json(&engine.engine().list())?)
    })
}

/// The job's full-length VOD media playlist (every segment listed from the start, ENDLIST
/// present), with `uri_query` appended to every URI (`"api_key=..."`, a leading `?` optional;
/// NULL or `""` appends nothing).
///
/// Ownership: `engine`, `job_id` and `uri_query` are borrowed for the call. `*out_m3u8` receives
/// the playlist text on success, the error JSON otherwise; either is owned by the caller: free it
/// with `jellyscale_string_free` exactly once.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument other than `uri_query`, bad UTF-8), `NOT_FOUND`
/// (unknown job).
///
/// # Safety
/// `engine` is NULL or live; `job_id` and `uri_query` are NULL or NUL-terminated strings;
/// `out_m3u8` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_playlist(
    engine: *mut JellyscaleEngine,
    job_id: *const c_char,
    uri_query: *const c_char,
    out_m3u8: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_m3u8, || {
        // SAFETY: per this function's contract.
        let (engine, id, query, out) = unsafe {
            (
                args::engine(engine)?,
                args::string(job_id, "job_id")?,
                args::optional_string(uri_query, "uri_query")?,
                args::out(out_m3u8, "out_m3u8")?,
            )
        };
        strings::set(out, engine.engine().playlist(id, query.unwrap_or(""))?)
    })
}

/// Options of `jellyscale_cleanup`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupOptions {
    /// Files and folders older than this many days go (absent or 0: no age limit).
    #[serde(default)]
    max_age_days: u32,
    /// Then the oldest go until the total fits (absent or 0: no size limit).
    #[serde(default)]
    max_total_bytes: u64,
}

/// Deletes finished files and job folders by age and total size, as `options_json` says
/// (`{"max_age_days": n, "max_total_bytes": n}`, each absent or 0 for no limit): first what is
/// older than the age limit, then the oldest until the total fits. Jobs at work (queued,
/// running, finalizing, or with a viewer in the last hour) are kept and still count; deleted
/// jobs are forgotten. `*out_json` receives `{"deleted": [paths], "freed_bytes": n}`.
///
/// Ownership: `engine` and `options_json` are borrowed for the call. `*out_json` receives the
/// result JSON on success, the error JSON otherwise; either is owned by the caller: free it with
/// `jellyscale_string_free` exactly once.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument, bad UTF-8, malformed JSON, unknown field), `IO`.
///
/// # Safety
/// `engine` is NULL or live; `options_json` is NULL or a NUL-terminated string; `out_json` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_cleanup(
    engine: *mut JellyscaleEngine,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_json, || {
        // SAFETY: per this function's contract.
        let (engine, text, out) = unsafe {
            (args::engine(engine)?, args::string(options_json, "options_json")?, args::out(out_json, "out_json")?)
        };
        let o: CleanupOptions =
            serde_json::from_str(text).map_err(|e| crate::error::Error::invalid(format!("options: {e}")))?;
        let day = std::time::Duration::from_secs(86_400);
        let done = engine.engine().cleanup(
            (o.max_age_days > 0).then(|| day * o.max_age_days),
            (o.max_total_bytes > 0).then_some(o.max_total_bytes),
            crate::engine::IN_USE,
        )?;
        strings::set(out, strings::json(&done)?)
    })
}
