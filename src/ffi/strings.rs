//! Strings handed to C: allocated here, freed by `jellyscale_string_free`.

use super::boundary::catch_panic;
use crate::error::{Error, ErrorCode, Result};
use std::ffi::{c_char, CString};

/// A string for C; fails only on an interior NUL.
pub(crate) fn to_c(text: String) -> Result<*mut c_char> {
    CString::new(text).map(CString::into_raw).map_err(|_| Error::new(ErrorCode::Internal, "result contains a NUL byte"))
}

/// A string for C, with any interior NUL replaced.
pub(crate) fn to_c_lossy(text: String) -> *mut c_char {
    let text = if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text };
    CString::new(text).map(CString::into_raw).unwrap_or(std::ptr::null_mut())
}

/// Writes a result string into an out-parameter.
pub(crate) fn set(out: &mut *mut c_char, text: String) -> Result<()> {
    *out = to_c(text)?;
    Ok(())
}

/// Serializes a result as JSON.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::new(ErrorCode::Internal, format!("cannot serialize result: {e}")))
}

/// Frees a string returned by any jellyscale function.
///
/// Ownership: `s` must come from this library and be freed exactly once; NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string this library returned that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn jellyscale_string_free(s: *mut c_char) {
    catch_panic(
        |_| (),
        || {
            if !s.is_null() {
                // SAFETY: allocated by `CString::into_raw` here, freed once per the contract.
                drop(unsafe { CString::from_raw(s) });
            }
        },
    )
}
