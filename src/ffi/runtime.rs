//! Blocking engine calls (`Engine::new`, `Engine::start`) block on the engine's tokio runtime,
//! which panics on a thread that is already driving a runtime. A C caller can be on such a
//! thread: every callback (segment waits, logs) runs on an engine thread, and .NET may run an
//! awaiting continuation inline there. [`blocking`] makes those calls safe from any thread.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which may block on a runtime, from whatever thread the caller is on.
pub(crate) fn blocking<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match Handle::try_current() {
        // A plain thread: nothing to work around.
        Err(_) => f(),
        // A worker thread: hand its work to another thread and leave the runtime context.
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        // Someone else's single-threaded runtime: run on a fresh thread.
        Ok(_) => std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p)),
    }
}

/// Whether the current thread is inside some tokio runtime (an engine callback thread).
pub(crate) fn inside_runtime() -> bool {
    Handle::try_current().is_ok()
}
