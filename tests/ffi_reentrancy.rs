//! Callbacks run on engine threads, and a host may call back into the library from there (.NET
//! can run an awaiting continuation inline). Calls that block on the engine's runtime
//! (`jellyscale_start_stream`, `jellyscale_engine_free`) must work from such a thread.

use jellyscale::ffi::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

fn make_clip(dir: &Path) -> String {
    let clip = dir.join("clip.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24"])
        .args(["-t", "4", "-c:v", "libx264", "-preset", "veryfast"])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok);
    clip.display().to_string()
}

fn new_engine(dir: &Path) -> *mut JellyscaleEngine {
    let config = CString::new(format!(
        r#"{{"backend":"cpu","cache_dir":"{}","segment_seconds":2,"cpu_preset":"ultrafast"}}"#,
        dir.join("cache").display()
    ))
    .unwrap();
    let mut engine = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let st = unsafe { jellyscale_engine_new(config.as_ptr(), &mut engine, std::ptr::null_mut()) };
    assert_eq!(st, JellyscaleStatus::Ok);
    engine
}

fn start(engine: *mut JellyscaleEngine, request: &str) -> (JellyscaleStatus, String) {
    let request = CString::new(request).unwrap();
    let mut out = std::ptr::null_mut();
    // SAFETY: live engine, valid strings.
    let st = unsafe { jellyscale_start_stream(engine, request.as_ptr(), &mut out) };
    // SAFETY: set by the call, freed once.
    let json = unsafe { CStr::from_ptr(out) }.to_string_lossy().into_owned();
    unsafe { jellyscale_string_free(out) };
    (st, json)
}

fn job_id(json: &str) -> CString {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    CString::new(v["job_id"].as_str().unwrap()).unwrap()
}

/// What the callback does from the engine thread, and where it reports.
struct Reentry {
    engine: *mut JellyscaleEngine,
    request: String,
    free: bool,
    done: mpsc::Sender<(JellyscaleStatus, JellyscaleStatus, String)>,
}

unsafe extern "C" fn reenter(user_data: *mut c_void, status: JellyscaleStatus, _json: *const c_char) {
    // SAFETY: a leaked Box<Reentry> from the test, used once.
    let r = unsafe { Box::from_raw(user_data as *mut Reentry) };
    if r.free {
        // SAFETY: the test gives up the engine to this callback.
        unsafe { jellyscale_engine_free(r.engine) };
        let _ = r.done.send((status, JellyscaleStatus::Ok, String::new()));
    } else {
        let (st, json) = start(r.engine, &r.request);
        let _ = r.done.send((status, st, json));
    }
}

fn wait_with(engine: *mut JellyscaleEngine, id: &CString, reentry: Reentry) {
    let user_data = Box::into_raw(Box::new(reentry)) as *mut c_void;
    // SAFETY: live engine; user_data is consumed by the callback.
    let st = unsafe { jellyscale_wait_segment(engine, id.as_ptr(), 0, 60_000, Some(reenter), user_data) };
    assert_eq!(st, JellyscaleStatus::Ok);
}

fn ffmpeg_children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let close = stat.rfind(')').unwrap_or(0);
            stat.contains("(ffmpeg)") && stat[close + 1..].split_whitespace().nth(1) == Some(me.as_str())
        })
        .count()
}

#[test]
fn start_stream_and_engine_free_work_from_inside_a_callback() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(tmp.path());
    let engine = new_engine(tmp.path());
    let (st, json) = start(engine, &format!(r#"{{"input":"{clip}"}}"#));
    assert_eq!(st, JellyscaleStatus::Ok, "{json}");
    let id = job_id(&json);

    // 1. start_stream (which blocks on the engine's runtime) from the callback thread.
    let (tx, rx) = mpsc::channel();
    let hevc = format!(r#"{{"input":"{clip}","codec":"hevc"}}"#);
    wait_with(engine, &id, Reentry { engine, request: hevc, free: false, done: tx });
    let (wait_status, start_status, json) = rx.recv_timeout(Duration::from_secs(120)).expect("callback fired");
    assert_eq!(wait_status, JellyscaleStatus::Ok);
    assert_eq!(start_status, JellyscaleStatus::Ok, "start_stream from a callback: {json}");
    let hevc_id = job_id(&json);

    // 2. engine_free from the callback thread, with an encoder running and a wait pending.
    let (tx, rx) = mpsc::channel();
    let (pending_tx, pending_rx) = mpsc::channel();
    let last = CString::new(hevc_id.to_str().unwrap()).unwrap();
    let user_data = Box::into_raw(Box::new(pending_tx)) as *mut c_void;
    unsafe extern "C" fn pending(user_data: *mut c_void, status: JellyscaleStatus, _json: *const c_char) {
        // SAFETY: the leaked Sender from the test, used once.
        let tx = unsafe { Box::from_raw(user_data as *mut mpsc::Sender<JellyscaleStatus>) };
        let _ = tx.send(status);
    }
    // SAFETY: live engine; user_data is consumed by the callback.
    let st = unsafe { jellyscale_wait_segment(engine, last.as_ptr(), 1, 600_000, Some(pending), user_data) };
    assert_eq!(st, JellyscaleStatus::Ok);
    wait_with(engine, &id, Reentry { engine, request: String::new(), free: true, done: tx });
    rx.recv_timeout(Duration::from_secs(60)).expect("engine_free returned inside the callback");
    let status = pending_rx.recv_timeout(Duration::from_secs(10)).expect("the pending wait fired");
    assert!(
        matches!(status, JellyscaleStatus::ShuttingDown | JellyscaleStatus::Cancelled | JellyscaleStatus::Ok),
        "{status:?}"
    );
    // The ffmpeg stop finishes in the background; give it the engine's grace period.
    let mut left = ffmpeg_children();
    for _ in 0..200 {
        if left == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = ffmpeg_children();
    }
    assert_eq!(left, 0, "ffmpeg left running after engine_free from a callback");
}
