//! Asynchronous "segment ready" waits: the wait runs on the engine's runtime and a C callback
//! reports the outcome exactly once. No thread blocks while waiting.
//!
//! Every registered wait sits in [`Waits`] until its callback is taken; whoever takes it (the
//! wait finishing, its task being dropped, or `jellyscale_engine_free`) fires it, so each
//! callback fires exactly once and none is lost.

use super::args;
use super::boundary::call;
use super::engine::JellyscaleEngine;
use super::status::JellyscaleStatus;
use crate::error::{Error, ErrorCode, Result};
use crate::job::SegmentInfo;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

/// Reports the outcome of a `jellyscale_wait_segment`, exactly once, from an engine thread (or
/// from the thread calling `jellyscale_engine_free`).
///
/// `status` is `JELLYSCALE_STATUS_OK` with `json` = `{"index": n, "duration": seconds, "path":
/// "/abs/file", "offset": n, "length": n, "init_path": string|null, "init_offset": n|null,
/// "init_length": n|null}` (the segment's bytes are `length` bytes at `offset` in `path`; fMP4
/// streams also have an init section), or an error status with the error JSON: `TIMEOUT`,
/// `CANCELLED`, `SHUTTING_DOWN` (engine freed), or the job's own error when it failed.
///
/// Ownership: `json` is borrowed for the call; copy it to keep it. `user_data` is the pointer
/// given to `jellyscale_wait_segment`, passed back untouched. The callback runs on one of the
/// engine's few threads: keep it short (complete a task, signal a condition variable).
pub type JellyscaleSegmentCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: JellyscaleStatus, json: *const c_char)>;

/// A callback with its user data, fired at most once (it is consumed).
pub(crate) struct Callback {
    f: unsafe extern "C" fn(*mut c_void, JellyscaleStatus, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: the caller of `jellyscale_wait_segment` promises the callback may run on any thread
// with its user data; the library never dereferences `user_data`.
unsafe impl Send for Callback {}

impl Callback {
    /// Wraps a C callback and its user data.
    pub(crate) fn new(
        f: unsafe extern "C" fn(*mut c_void, JellyscaleStatus, *const c_char),
        user_data: *mut c_void,
    ) -> Self {
        Callback { f, user_data }
    }

    /// Fires with `OK` and the JSON `render` makes of the value, or the error's status and the
    /// JSON `render_error` makes of it.
    fn fire<T>(self, result: Result<T>, render: impl FnOnce(T) -> String, render_error: fn(&Error) -> String) {
        let (status, text) = match result {
            Ok(value) => (JellyscaleStatus::Ok, render(value)),
            Err(e) => (JellyscaleStatus::from(e.code), render_error(&e)),
        };
        let text =
            CString::new(text).unwrap_or_else(|_| c"{\"code\":\"internal\",\"message\":\"NUL in result\"}".to_owned());
        // SAFETY: the caller supplied a callback valid until it fires, with this user data.
        unsafe { (self.f)(self.user_data, status, text.as_ptr()) };
    }
}

fn segment_json(info: &SegmentInfo) -> String {
    let init = info.init.as_ref();
    serde_json::json!({
        "index": info.index,
        "duration": info.duration,
        "path": info.data.path,
        "offset": info.data.offset,
        "length": info.data.length,
        "init_path": init.map(|i| &i.path),
        "init_offset": init.map(|i| i.offset),
        "init_length": init.map(|i| i.length),
    })
    .to_string()
}

/// Waits (segment waits and front-door requests together) pending at once, at most: far more
/// than any number of players, and a bound on what a misbehaving caller can pile up.
pub const JELLYSCALE_MAX_PENDING_WAITS: usize = 4096;
const MAX_PENDING: usize = JELLYSCALE_MAX_PENDING_WAITS;

#[derive(Default)]
struct Registry {
    closed: bool,
    next: u64,
    pending: HashMap<u64, Callback>,
}

/// The engine's pending waits.
#[derive(Default)]
pub(crate) struct Waits {
    registry: Mutex<Registry>,
}

impl Waits {
    /// Registers a callback; refused once the engine is being freed.
    pub(crate) fn register(self: &Arc<Self>, callback: Callback) -> Result<Ticket> {
        let mut r = self.registry.lock();
        if r.closed {
            return Err(Error::new(ErrorCode::ShuttingDown, "engine is shutting down"));
        }
        // Each pending wait holds a task and a callback: a caller that registers without end
        // gets a clear refusal, not unbounded memory.
        if r.pending.len() >= MAX_PENDING {
            return Err(Error::new(ErrorCode::Busy, format!("{MAX_PENDING} waits already pending")));
        }
        r.next += 1;
        let id = r.next;
        r.pending.insert(id, callback);
        Ok(Ticket { waits: self.clone(), id })
    }

    fn take(&self, id: u64) -> Option<Callback> {
        self.registry.lock().pending.remove(&id)
    }

    /// Refuses new waits and fires every pending one with `SHUTTING_DOWN`.
    pub(crate) fn close(&self) {
        let pending: Vec<(u64, Callback)> = {
            let mut r = self.registry.lock();
            r.closed = true;
            r.pending.drain().collect()
        };
        let mut pending = pending;
        pending.sort_by_key(|(id, _)| *id);
        for (_, callback) in pending {
            callback.fire(
                Err::<(), _>(Error::new(ErrorCode::ShuttingDown, "engine freed while waiting")),
                |_| String::new(),
                Error::to_http_json,
            );
        }
    }

    /// Waits registered and not yet fired.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.registry.lock().pending.len()
    }
}

/// The right to fire one registered callback. Completing fires it; dropping an uncompleted
/// ticket (the task dropped at runtime shutdown, or a panic) fires it with an error.
pub(crate) struct Ticket {
    waits: Arc<Waits>,
    id: u64,
}

impl Ticket {
    /// Fires the callback with the outcome: a value rendered as JSON by `render`, an error as
    /// its JSON by `render_error`.
    pub(crate) fn complete<T>(
        self,
        result: Result<T>,
        render: impl FnOnce(T) -> String,
        render_error: fn(&Error) -> String,
    ) {
        if let Some(callback) = self.waits.take(self.id) {
            callback.fire(result, render, render_error);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(callback) = self.waits.take(self.id) {
            let error = if std::thread::panicking() {
                Error::new(ErrorCode::Internal, "the wait panicked")
            } else {
                Error::new(ErrorCode::ShuttingDown, "engine is shutting down")
            };
            callback.fire(Err::<(), _>(error), |_| String::new(), Error::to_http_json);
        }
    }
}

/// Waits up to `timeout_ms` for segment `index` of a job (moving the encoder there if it is far
/// away) and reports through `callback`. Returns at once: `JELLYSCALE_STATUS_OK` means the wait
/// is registered and `callback` will fire exactly once, from an engine thread (or from
/// `jellyscale_engine_free`, with `SHUTTING_DOWN`). Any other status means `callback` will not
/// fire. A segment already ready still reports through `callback`. `timeout_ms` 0 checks once.
///
/// Ownership: `engine` and `job_id` are borrowed for the call. `callback` and `user_data` must
/// stay valid until the callback fires; the library never dereferences `user_data`.
///
/// Errors (returned, callback not fired): `INVALID_ARGUMENT` (NULL argument, bad UTF-8),
/// `NOT_FOUND` (unknown job, or `index` past the last segment), `SHUTTING_DOWN`.
///
/// # Safety
/// `engine` is NULL or live; `job_id` is NULL or a NUL-terminated string; `callback` may be
/// called with `user_data` from any thread.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_wait_segment(
    engine: *mut JellyscaleEngine,
    job_id: *const c_char,
    index: u32,
    timeout_ms: u32,
    callback: JellyscaleSegmentCallback,
    user_data: *mut c_void,
) -> JellyscaleStatus {
    call(std::ptr::null_mut(), || {
        // SAFETY: per this function's contract.
        let (engine, id) = unsafe { (args::engine(engine)?, args::string(job_id, "job_id")?) };
        let f = callback.ok_or_else(|| Error::invalid("callback is NULL"))?;
        let job = engine.engine().job(id)?;
        let count = job.timeline().count();
        if index >= count {
            return Err(Error::not_found(format!("segment {index} is past the end ({count} segments)")));
        }
        let ticket = engine.waits().register(Callback::new(f, user_data))?;
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        engine.engine().runtime().spawn(async move {
            let result = job.wait_segment(index, timeout).await;
            ticket.complete(result, |info| segment_json(&info), Error::to_json);
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    unsafe extern "C" fn count(user_data: *mut c_void, status: JellyscaleStatus, _json: *const c_char) {
        // SAFETY: the tests pass a live AtomicU32.
        let counter = unsafe { &*(user_data as *const AtomicU32) };
        counter.fetch_add(if status == JellyscaleStatus::ShuttingDown { 1 } else { 100 }, Ordering::SeqCst);
    }

    #[test]
    fn close_fires_every_pending_wait_once_and_refuses_new_ones() {
        let waits = Arc::new(Waits::default());
        let counter = AtomicU32::new(0);
        let user_data = &counter as *const AtomicU32 as *mut c_void;
        let tickets: Vec<Ticket> = (0..3).map(|_| waits.register(Callback { f: count, user_data }).unwrap()).collect();
        waits.close();
        assert_eq!(counter.load(Ordering::SeqCst), 3);
        drop(tickets);
        assert_eq!(counter.load(Ordering::SeqCst), 3, "a ticket fired after close");
        assert!(waits.register(Callback { f: count, user_data }).is_err());
        assert_eq!(waits.pending(), 0);
    }

    #[test]
    fn a_dropped_ticket_fires_shutting_down() {
        let waits = Arc::new(Waits::default());
        let counter = AtomicU32::new(0);
        let user_data = &counter as *const AtomicU32 as *mut c_void;
        drop(waits.register(Callback { f: count, user_data }).unwrap());
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    }
}
