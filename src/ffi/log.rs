//! Forwarding the engine's `tracing` events to a C log callback.
//!
//! The first `jellyscale_set_log_callback` installs a global subscriber (a `Registry` with
//! [`CallbackLayer`]); if the host process already has a global subscriber, that one stays and
//! the callback receives nothing. The callback itself lives in a lock and can be replaced or
//! cleared at any time.

use super::boundary::catch_panic;
use parking_lot::RwLock;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::fmt::Write;
use std::sync::Once;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Receives one log event: `level` 1 error, 2 warn, 3 info, 4 debug, 5 trace; `target` is the
/// Rust module path; `message` is the formatted message with its fields (`key=value`).
///
/// Ownership: `target` and `message` are borrowed for the call; copy them to keep them.
/// `user_data` is the pointer given to `jellyscale_set_log_callback`, passed back untouched.
/// Called from any thread, possibly concurrently; it must not call
/// `jellyscale_set_log_callback`.
pub type JellyscaleLogCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: u32, target: *const c_char, message: *const c_char)>;

#[derive(Clone, Copy)]
struct Sink {
    f: unsafe extern "C" fn(*mut c_void, u32, *const c_char, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: the caller of `jellyscale_set_log_callback` promises the callback may run on any
// thread with its user data; the library never dereferences `user_data`.
unsafe impl Send for Sink {}
// SAFETY: as above; the sink is only copied and called.
unsafe impl Sync for Sink {}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
static INSTALL: Once = Once::new();

thread_local! {
    /// Set while this thread runs the callback, so logging from inside it is dropped, not looped.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn level_number(level: &Level) -> u32 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// The layer that hands events to the C callback.
struct CallbackLayer;

impl<S: Subscriber> Layer<S> for CallbackLayer {
    fn enabled(&self, _metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        !IN_CALLBACK.with(Cell::get) && SINK.read().is_some()
    }

    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // Whether events pass depends on the callback of the moment: ask `enabled` each time.
        Interest::sometimes()
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if IN_CALLBACK.with(Cell::get) {
            return;
        }
        // Held across the call so a callback cleared by `jellyscale_set_log_callback` is never
        // called after that returns.
        let sink = SINK.read();
        let Some(sink) = *sink else { return };
        let metadata = event.metadata();
        let mut message = Message::default();
        event.record(&mut message);
        message.text.push_str(&message.fields);
        let target = c_text(metadata.target());
        let text = c_text(&message.text);
        IN_CALLBACK.with(|c| c.set(true));
        // SAFETY: the callback was registered as valid for any thread with this user data.
        unsafe { (sink.f)(sink.user_data, level_number(metadata.level()), target.as_ptr(), text.as_ptr()) };
        IN_CALLBACK.with(|c| c.set(false));
    }
}

/// Sets (or, with NULL, clears) the process-wide log callback. The first call installs the
/// library's global `tracing` subscriber; if the process already has one, logs go there instead.
/// Once this returns, the previous callback is no longer called.
///
/// Ownership: `callback` and `user_data` must stay valid until they are replaced or cleared by
/// another call; the library never dereferences `user_data`.
///
/// # Safety
/// `callback` is NULL or may be called with `user_data` from any thread, concurrently.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_set_log_callback(callback: JellyscaleLogCallback, user_data: *mut c_void) {
    catch_panic(
        |_| (),
        || {
            *SINK.write() = callback.map(|f| Sink { f, user_data });
            INSTALL.call_once(|| {
                let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(CallbackLayer));
            });
        },
    )
}
