//! The log callback receives the library's `tracing` events with their level number, target and
//! formatted message (fields included), and is silent once cleared.

use jellyscale::ffi::jellyscale_set_log_callback;
use parking_lot::Mutex;
use std::ffi::{c_char, c_void, CStr};

static SEEN: Mutex<Vec<(u32, String, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn record(user_data: *mut c_void, level: u32, target: *const c_char, message: *const c_char) {
    assert_eq!(user_data as usize, 42);
    // SAFETY: borrowed for the call.
    let (target, message) = unsafe { (CStr::from_ptr(target), CStr::from_ptr(message)) };
    SEEN.lock().push((level, target.to_string_lossy().into_owned(), message.to_string_lossy().into_owned()));
}

#[test]
fn events_reach_the_callback_until_it_is_cleared() {
    // SAFETY: `record` may run on any thread.
    unsafe { jellyscale_set_log_callback(Some(record), 42 as *mut c_void) };
    tracing::error!("one");
    tracing::warn!(job = "abc", first = 3, "two {}", 2);
    tracing::info!("three");
    tracing::debug!("four");
    tracing::trace!("five");
    // SAFETY: clearing is always allowed.
    unsafe { jellyscale_set_log_callback(None, std::ptr::null_mut()) };
    tracing::error!("after");

    let seen = SEEN.lock().clone();
    let levels: Vec<u32> = seen.iter().map(|s| s.0).collect();
    assert_eq!(levels, [1, 2, 3, 4, 5], "{seen:?}");
    assert!(seen.iter().all(|s| s.1 == "ffi_log"), "{seen:?}");
    assert_eq!(seen[0].2, "one");
    assert_eq!(seen[1].2, "two 2 job=abc first=3");
    assert!(!seen.iter().any(|s| s.2 == "after"), "called after being cleared");
}
