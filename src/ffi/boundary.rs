//! The panic boundary. Every exported function runs its body through [`catch_panic`] (through
//! [`call`] when it returns a status), so no panic unwinds into C.

use super::status::JellyscaleStatus;
use super::strings;
use crate::error::{Error, ErrorCode, Result};
use std::any::Any;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Runs `body`; a panic becomes `on_panic(error)` instead of unwinding.
pub(crate) fn catch_panic<T>(on_panic: impl FnOnce(Error) -> T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let error = Error::new(ErrorCode::Internal, format!("panic in jellyscale: {}", panic_message(&*payload)));
            // Dropping a payload can itself panic; leak it instead.
            std::mem::forget(payload);
            on_panic(error)
        }
    }
}

/// Runs a status-returning body. `Ok` becomes `JELLYSCALE_STATUS_OK`; an error (or a caught
/// panic) becomes its status, with the error JSON written to `error_out` when that is not NULL.
/// The body writes its own out-parameters, on success only.
pub(crate) fn call(error_out: *mut *mut c_char, body: impl FnOnce() -> Result<()>) -> JellyscaleStatus {
    let result = catch_panic(Err, body);
    match result {
        Ok(()) => JellyscaleStatus::Ok,
        Err(error) => {
            catch_panic(
                |_| (),
                || {
                    if !error_out.is_null() {
                        // SAFETY: a non-NULL out-pointer is writable per every export's contract.
                        unsafe { *error_out = strings::to_c_lossy(error.to_json()) };
                    }
                },
            );
            error.code.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal_with_error_json() {
        let mut out: *mut c_char = std::ptr::null_mut();
        let status = call(&mut out, || panic!("boom"));
        assert_eq!(status, JellyscaleStatus::Internal);
        // SAFETY: written by `call` above.
        let text = unsafe { std::ffi::CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        // SAFETY: allocated by the library, freed once.
        unsafe { strings::jellyscale_string_free(out) };
        assert!(text.contains("\"code\":\"internal\"") && text.contains("boom"), "{text}");
    }

    #[test]
    fn an_error_sets_its_status_and_null_out_is_tolerated() {
        let status = call(std::ptr::null_mut(), || Err(Error::not_found("nope")));
        assert_eq!(status, JellyscaleStatus::NotFound);
    }
}
