//! The C ABI loaded from the cdylib with libloading, for tests that drive it from Rust.
#![allow(dead_code)]

use libloading::{Library, Symbol};
use std::ffi::{c_char, c_void, CStr};
use std::path::{Path, PathBuf};

/// `JellyscaleStatus` as the C ABI returns it.
pub type Status = u32;
/// `JELLYSCALE_STATUS_OK`.
pub const OK: Status = 0;
/// `JELLYSCALE_STATUS_INVALID_ARGUMENT`.
pub const INVALID_ARGUMENT: Status = 1;
/// `JELLYSCALE_STATUS_NOT_FOUND`.
pub const NOT_FOUND: Status = 2;
/// `JELLYSCALE_STATUS_INTERNAL`.
pub const INTERNAL: Status = 99;

pub type SegmentCallback = unsafe extern "C" fn(*mut c_void, Status, *const c_char);
pub type EngineNew = unsafe extern "C" fn(*const c_char, *mut *mut c_void, *mut *mut c_char) -> Status;
pub type EngineFree = unsafe extern "C" fn(*mut c_void);
pub type WithJson = unsafe extern "C" fn(*mut c_void, *const c_char, *mut *mut c_char) -> Status;
pub type Cancel = unsafe extern "C" fn(*mut c_void, *const c_char) -> Status;
pub type ListJobs = unsafe extern "C" fn(*mut c_void, *mut *mut c_char) -> Status;
pub type Playlist = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *mut c_char) -> Status;
pub type WaitSegment =
    unsafe extern "C" fn(*mut c_void, *const c_char, u32, u32, Option<SegmentCallback>, *mut c_void) -> Status;
pub type StringFree = unsafe extern "C" fn(*mut c_char);

/// The library's functions, resolved once.
pub struct Abi {
    _lib: Library,
    pub engine_new: EngineNew,
    pub engine_free: EngineFree,
    pub start_stream: WithJson,
    pub status: WithJson,
    pub cancel: Cancel,
    pub list_jobs: ListJobs,
    pub playlist: Playlist,
    pub wait_segment: WaitSegment,
    pub string_free: StringFree,
}

/// The cdylib built with this test: in `target/<profile>/deps`, beside the test binary
/// (`cargo test` rebuilds it there but does not always copy it up to `target/<profile>`).
fn lib_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let lib = exe.parent().unwrap().join("libjellyscale.so");
    if lib.is_file() {
        lib
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/libjellyscale.so")
    }
}

impl Abi {
    /// Loads the library and resolves every function.
    pub fn load() -> Abi {
        // SAFETY: loading our own cdylib, whose initializers are Rust's and harmless.
        let lib = unsafe { Library::new(lib_path()) }.expect("load libjellyscale.so");
        fn sym<T: Copy>(lib: &Library, name: &str) -> T {
            // SAFETY: the types above match include/jellyscale.h.
            let s: Symbol<T> = unsafe { lib.get(name) }.unwrap_or_else(|e| panic!("{name}: {e}"));
            *s
        }
        Abi {
            engine_new: sym(&lib, "jellyscale_engine_new"),
            engine_free: sym(&lib, "jellyscale_engine_free"),
            start_stream: sym(&lib, "jellyscale_start_stream"),
            status: sym(&lib, "jellyscale_status"),
            cancel: sym(&lib, "jellyscale_cancel"),
            list_jobs: sym(&lib, "jellyscale_list_jobs"),
            playlist: sym(&lib, "jellyscale_playlist"),
            wait_segment: sym(&lib, "jellyscale_wait_segment"),
            string_free: sym(&lib, "jellyscale_string_free"),
            _lib: lib,
        }
    }

    /// Takes a returned string (copying it) and frees it.
    pub fn take(&self, p: *mut c_char) -> String {
        if p.is_null() {
            return String::new();
        }
        // SAFETY: a NUL-terminated string from the library, freed once here.
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        unsafe { (self.string_free)(p) };
        s
    }
}

/// A field of /proc/self/status (e.g. `VmHWM:`), as printed there.
pub fn vm_field(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_owned())
        .unwrap_or_else(|| "?".into())
}
