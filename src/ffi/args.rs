//! Every pointer an exported function receives goes through one of these checks: NULL and bad
//! UTF-8 become `InvalidArgument` errors naming the parameter.

use super::engine::JellyscaleEngine;
use crate::error::{Error, Result};
use std::ffi::{c_char, CStr};

/// The one NULL check.
fn non_null<T>(p: *const T, name: &str) -> Result<*const T> {
    if p.is_null() {
        Err(Error::invalid(format!("{name} is NULL")))
    } else {
        Ok(p)
    }
}

/// A borrowed, NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn string<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    let p = non_null(p, name)?;
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|e| Error::invalid(format!("{name} is not UTF-8: {e}")))
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`string`].
pub(crate) unsafe fn optional_string<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { string(p, name) }.map(Some)
    }
}

/// An out-parameter to write a result into.
///
/// # Safety
/// `p` is NULL or valid for writes and outlives `'a`.
pub(crate) unsafe fn out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    let p = non_null(p, name)? as *mut T;
    // SAFETY: non-NULL and writable per the caller's contract.
    Ok(unsafe { &mut *p })
}

/// The engine handle.
///
/// # Safety
/// `p` is NULL or a live pointer from `jellyscale_engine_new`.
pub(crate) unsafe fn engine<'a>(p: *const JellyscaleEngine) -> Result<&'a JellyscaleEngine> {
    let p = non_null(p, "engine")?;
    // SAFETY: a live engine per the caller's contract; it is only shared (`&`) until freed.
    Ok(unsafe { &*p })
}
