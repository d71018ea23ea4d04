//! Creating and freeing the engine, and the ABI version.

use super::boundary::{call, catch_panic};
use super::status::JellyscaleStatus;
use super::wait::Waits;
use super::{args, runtime};
use crate::config::Config;
use crate::engine::Engine;
use std::ffi::c_char;
use std::sync::{Arc, OnceLock};

/// The ABI version this library implements; `jellyscale_abi_version` returns it.
pub const JELLYSCALE_ABI_VERSION: u32 = 1;

/// An engine: its runtime, its jobs and every ffmpeg it started. Opaque to C.
pub struct JellyscaleEngine {
    engine: Engine,
    waits: Arc<Waits>,
    /// The HEVC test encode's outcome, run on the first `jellyscale_engine_info`.
    hevc: OnceLock<crate::caps::BackendCheck>,
}

impl JellyscaleEngine {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn waits(&self) -> &Arc<Waits> {
        &self.waits
    }
}

/// The version of this C ABI (currently 1). A caller built against another version must not
/// use the library.
#[no_mangle]
pub extern "C" fn jellyscale_abi_version() -> u32 {
    catch_panic(|_| 0, || JELLYSCALE_ABI_VERSION)
}

/// Creates an engine from a JSON config (`"{}"` gives the defaults; unknown fields are
/// rejected). Finds ffmpeg/ffprobe, prepares the cache folder and, for backend `"auto"`, runs a
/// short test encode per GPU backend.
///
/// Ownership: `config_json` is borrowed for the call. On success `*out_engine` receives an
/// engine owned by the caller: free it with `jellyscale_engine_free` exactly once; `*out_engine`
/// is written only on success. On failure `*out_error_json` receives the error JSON, owned by the
/// caller: free it with `jellyscale_string_free` exactly once; on success it is set to NULL.
/// `out_error_json` may be NULL when the caller does not want the details.
///
/// Errors: `INVALID_ARGUMENT` (NULL `config_json` or `out_engine`, bad UTF-8, malformed JSON,
/// unknown field, out-of-range value), `FFMPEG` (ffmpeg/ffprobe not found or not executable),
/// `IO` (the cache folder cannot be created).
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out_engine` and `out_error_json` are NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_engine_new(
    config_json: *const c_char,
    out_engine: *mut *mut JellyscaleEngine,
    out_error_json: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_error_json, || {
        // SAFETY: per this function's contract.
        let (text, out) = unsafe { (args::string(config_json, "config_json")?, args::out(out_engine, "out_engine")?) };
        let config = Config::from_json(text)?;
        let engine = runtime::blocking(|| Engine::new(config))?;
        *out = Box::into_raw(Box::new(JellyscaleEngine {
            engine,
            waits: Arc::new(Waits::default()),
            hevc: OnceLock::new(),
        }));
        if !out_error_json.is_null() {
            // SAFETY: non-NULL and writable per this function's contract.
            unsafe { *out_error_json = std::ptr::null_mut() };
        }
        Ok(())
    })
}

/// Frees an engine: every pending `jellyscale_wait_segment` callback fires (with
/// `SHUTTING_DOWN`) before this returns, then every job is cancelled and its ffmpeg stopped.
/// Finished files and segments on disk stay. Called on an engine callback thread, the ffmpeg
/// stop finishes in the background after this returns (callbacks still fire before).
///
/// Ownership: takes ownership of `engine`, which must come from `jellyscale_engine_new` and be
/// freed exactly once; NULL is a no-op. No other call may use `engine` during or after this one.
///
/// # Safety
/// `engine` is NULL or a live engine not used by any other call from now on.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_engine_free(engine: *mut JellyscaleEngine) {
    catch_panic(
        |_| (),
        || {
            if engine.is_null() {
                return;
            }
            // SAFETY: from `Box::into_raw` in `jellyscale_engine_new`, freed once per the contract.
            let engine = unsafe { Box::from_raw(engine) };
            engine.waits.close();
            if runtime::inside_runtime() {
                // A runtime cannot be stopped from one of its own threads.
                std::thread::spawn(move || drop(engine));
            } else {
                drop(engine);
            }
        },
    )
}

/// What the engine found on this machine, for the choices its caller makes:
/// `{"backend": "cpu"|"nvenc"|"vaapi"|"qsv", "hardware": bool, "hevc_hardware": bool,
/// "hevc_reason": string|null, "ffmpeg": "/path", "ffprobe": "/path"}`. `backend` is the one
/// jobs use (`auto` resolved by its test encodes); `hevc_hardware` says whether a one-frame HEVC
/// test encode works on that backend's hardware encoder (always false on the CPU, where HEVC is
/// x265 and costs several times H.264), with ffmpeg's reason when not. That test runs on the
/// first call (at most 20 s) and its answer is kept for the engine's life.
///
/// Ownership: `engine` is borrowed for the call. `*out_json` receives the JSON on success, the
/// error JSON otherwise; either is owned by the caller: free it with `jellyscale_string_free`
/// exactly once.
///
/// Errors: `INVALID_ARGUMENT` (NULL argument).
///
/// # Safety
/// `engine` is NULL or live; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_engine_info(
    engine: *mut JellyscaleEngine,
    out_json: *mut *mut c_char,
) -> JellyscaleStatus {
    call(out_json, || {
        // SAFETY: per this function's contract.
        let (this, out) = unsafe { (args::engine(engine)?, args::out(out_json, "out_json")?) };
        let e = this.engine();
        let backend = e.backend();
        let hevc = this.hevc.get_or_init(|| {
            runtime::blocking(|| {
                e.block_on(crate::caps::check_hevc_hardware(e.ffmpeg(), backend, &e.config().vaapi_device))
            })
        });
        let info = serde_json::json!({
            "backend": backend,
            "hardware": !matches!(backend, crate::config::Backend::Cpu | crate::config::Backend::Auto),
            "hevc_hardware": hevc.works,
            "hevc_reason": hevc.reason,
            "ffmpeg": e.ffmpeg(),
            "ffprobe": e.ffprobe(),
        });
        super::strings::set(out, info.to_string())
    })
}
