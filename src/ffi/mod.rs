//! The C ABI (`include/jellyscale.h`, generated from this module by cbindgen in `build.rs`).
//!
//! One module per exported concept (`engine`, `jobs`, `wait`, `log`, `strings`) and small private
//! plumbing written once: `status` (the result enum), `boundary` (the panic boundary every export
//! runs inside, and the error-JSON out-string), `args` (every pointer check), `runtime` (running
//! blocking engine calls safely from any thread, engine callback threads included).
//!
//! Conventions, stated in every exported function's doc comment:
//! - strings are UTF-8 and NUL-terminated; a string result is "owned by the caller: free it with
//!   `jellyscale_string_free` exactly once";
//! - string arguments are "borrowed for the call";
//! - a non-OK status writes the error JSON `{"code": "...", "message": "..."}` into the
//!   function's out-string (when that out-pointer is not NULL); other out-parameters are written
//!   only on success;
//! - nothing unwinds across the boundary: a caught panic returns `JELLYSCALE_STATUS_INTERNAL`.

mod args;
mod boundary;
mod engine;
mod jobs;
mod log;
mod runtime;
mod serving;
mod status;
mod strings;
mod wait;

pub use engine::{
    jellyscale_abi_version, jellyscale_engine_free, jellyscale_engine_info, jellyscale_engine_new, JellyscaleEngine,
    JELLYSCALE_ABI_VERSION,
};
pub use jobs::{
    jellyscale_cancel, jellyscale_cleanup, jellyscale_list_jobs, jellyscale_playlist, jellyscale_start_stream,
    jellyscale_status,
};
pub use log::{jellyscale_set_log_callback, JellyscaleLogCallback};
pub use serving::jellyscale_request;
pub use status::JellyscaleStatus;
pub use strings::jellyscale_string_free;
pub use wait::{jellyscale_wait_segment, JellyscaleSegmentCallback, JELLYSCALE_MAX_PENDING_WAITS};
