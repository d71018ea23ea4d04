//! C ABI latency: p50/p99 of `jellyscale_status`, of `jellyscale_playlist` (with the query a
//! Jellyfin client appends) and of `jellyscale_wait_segment` on an already-ready segment (the
//! call returning, and the callback arriving), with 100 jobs registered. Target: p99 < 50 µs.
//! Run with `cargo bench --bench abi`.
//!
//! The 100 jobs need 100 sources: one tiny clip hard-linked under 99 names, and one 30 min clip
//! whose playlist has the 1800 entries of a 2 h film at the default 4 s segments (the playlist's
//! cost grows with its length). With `max_concurrent_jobs` 1 they queue behind one encoder; the
//! first is measured once done. Figures are taken twice: while one job encodes and 98 wait, then
//! with the queue cancelled (no ffmpeg competing for the CPU).

use jellyscale::ffi::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const JOBS: usize = 100;
const STATUS_SAMPLES: usize = 20_000;
const WAIT_SAMPLES: usize = 5_000;
const LONG_SAMPLES: usize = 2_000;
const LONG_SECONDS: u32 = 1800;
/// The query a Jellyfin client puts on every playlist URI (token and session).
const QUERY: &CStr = c"ApiKey=0123456789abcdef&PlaySessionId=abc";

fn take(p: *mut c_char) -> String {
    // SAFETY: a string from the library, freed once.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { jellyscale_string_free(p) };
    s
}

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name:<44} n={:<6} p50={:>8.2?} p99={:>8.2?} max={:>8.2?}  {}",
        samples.len(),
        at(0.50),
        at(0.99),
        samples[samples.len() - 1],
        if at(0.99) < Duration::from_micros(50) { "p99 < 50 µs: ok" } else { "p99 >= 50 µs: OVER TARGET" }
    );
}

#[derive(Clone, Copy)]
struct EnginePtr(*mut JellyscaleEngine);
// SAFETY: the engine may be used from any thread concurrently.
unsafe impl Send for EnginePtr {}
unsafe impl Sync for EnginePtr {}

fn start(engine: *mut JellyscaleEngine, request: &CString) -> CString {
    let mut out = std::ptr::null_mut();
    // SAFETY: live engine, valid strings.
    let st = unsafe { jellyscale_start_stream(engine, request.as_ptr(), &mut out) };
    let json = take(out);
    assert_eq!(st, JellyscaleStatus::Ok, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    CString::new(v["job_id"].as_str().unwrap()).unwrap()
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

unsafe extern "C" fn on_segment(user_data: *mut c_void, status: JellyscaleStatus, _json: *const c_char) {
    assert_eq!(status, JellyscaleStatus::Ok);
    let arrived = EPOCH.get().unwrap().elapsed().as_nanos() as u64;
    // SAFETY: the bench passes a live AtomicU64.
    unsafe { &*(user_data as *const AtomicU64) }.store(arrived, Ordering::Release);
}

/// Times `n` calls of an ABI function that writes a library string into its last argument,
/// spread over the jobs of `ids`.
fn time_calls(
    ids: &[CString],
    n: usize,
    call: impl Fn(&CString, &mut *mut c_char) -> JellyscaleStatus,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let id = &ids[(i * 7919) % ids.len()];
        let mut out = std::ptr::null_mut();
        let t = Instant::now();
        let st = call(id, &mut out);
        let dt = t.elapsed();
        assert_eq!(st, JellyscaleStatus::Ok);
        // SAFETY: returned by the call above.
        unsafe { jellyscale_string_free(out) };
        samples.push(dt);
    }
    samples
}

/// `ids[..JOBS - 1]` are the short jobs, the last one the long one.
fn measure(engine: *mut JellyscaleEngine, ids: &[CString], label: &str) {
    // SAFETY (both closures): live engine, valid strings and out-pointer.
    let status = |id: &CString, out: &mut *mut c_char| unsafe { jellyscale_status(engine, id.as_ptr(), out) };
    let playlist =
        |id: &CString, out: &mut *mut c_char| unsafe { jellyscale_playlist(engine, id.as_ptr(), QUERY.as_ptr(), out) };
    let (short, long) = ids.split_at(JOBS - 1);
    percentiles(&format!("jellyscale_status [{label}]"), time_calls(ids, STATUS_SAMPLES, status));
    percentiles(&format!("jellyscale_playlist 2 s job [{label}]"), time_calls(short, STATUS_SAMPLES, playlist));
    let long_label = format!("jellyscale_playlist {LONG_SECONDS} segments [{label}]");
    percentiles(&long_label, time_calls(long, LONG_SAMPLES, playlist));

    let epoch = *EPOCH.get().unwrap();
    let (mut calls, mut round_trips) = (Vec::with_capacity(WAIT_SAMPLES), Vec::with_capacity(WAIT_SAMPLES));
    let arrived = AtomicU64::new(0);
    for _ in 0..WAIT_SAMPLES {
        arrived.store(0, Ordering::Release);
        let t = Instant::now();
        let sent = t.duration_since(epoch).as_nanos() as u64;
        // SAFETY: live engine, valid strings; `arrived` outlives the callback (we wait for it).
        let st = unsafe {
            jellyscale_wait_segment(
                engine,
                ids[0].as_ptr(),
                0,
                10_000,
                Some(on_segment),
                &arrived as *const AtomicU64 as *mut c_void,
            )
        };
        calls.push(t.elapsed());
        assert_eq!(st, JellyscaleStatus::Ok);
        let mut got = arrived.load(Ordering::Acquire);
        while got == 0 {
            // Leave the CPU to the engine thread that runs the callback (2 cores, shared).
            std::thread::yield_now();
            got = arrived.load(Ordering::Acquire);
        }
        round_trips.push(Duration::from_nanos(got - sent));
    }
    percentiles(&format!("jellyscale_wait_segment call [{label}]"), calls);
    percentiles(&format!("jellyscale_wait_segment to callback [{label}]"), round_trips);
}

fn make_clip(path: &Path, rate: u32, seconds: u32) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=160x90:rate={rate}"))
        .arg("-t")
        .arg(seconds.to_string())
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .arg(path)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "cannot make the clip");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to list.
    }
    EPOCH.get_or_init(Instant::now);
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("clip0.mp4");
    make_clip(&clip, 24, 2);
    let requests: Vec<CString> = (0..JOBS)
        .map(|i| {
            let p = tmp.path().join(format!("clip{i}.mp4"));
            if i == JOBS - 1 {
                // One frame a second: a long source that takes no time to make.
                make_clip(&p, 1, LONG_SECONDS);
            } else if i > 0 {
                std::fs::hard_link(&clip, &p).unwrap();
            }
            CString::new(format!(r#"{{"input":"{}"}}"#, p.display())).unwrap()
        })
        .collect();

    let config = CString::new(format!(
        r#"{{"backend":"cpu","cache_dir":"{}","segment_seconds":1,"cpu_preset":"ultrafast","max_concurrent_jobs":1,"max_queued_jobs":200}}"#,
        Path::new(tmp.path()).join("cache").display()
    ))
    .unwrap();
    let mut engine = std::ptr::null_mut();
    // SAFETY: valid pointers.
    assert_eq!(
        unsafe { jellyscale_engine_new(config.as_ptr(), &mut engine, std::ptr::null_mut()) },
        JellyscaleStatus::Ok
    );

    // Each start probes its source (an ffprobe run), so register from a few threads at once.
    let started = Instant::now();
    let shared = EnginePtr(engine);
    let ids: Vec<CString> = std::thread::scope(|s| {
        let workers: Vec<_> = requests
            .chunks(JOBS.div_ceil(8))
            .map(|chunk| {
                s.spawn(move || {
                    let engine = shared;
                    chunk.iter().map(|r| start(engine.0, r)).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    println!("{JOBS} jobs registered in {:?}", started.elapsed());
    for id in [&ids[0], &ids[JOBS - 1]] {
        let mut out = std::ptr::null_mut();
        // SAFETY: live engine, valid strings.
        assert_eq!(unsafe { jellyscale_playlist(engine, id.as_ptr(), QUERY.as_ptr(), &mut out) }, JellyscaleStatus::Ok);
        let m3u8 = take(out);
        println!("playlist of {} segments: {} bytes", m3u8.matches("#EXTINF").count(), m3u8.len());
    }

    // The first job: wait until it is done, so its segment 0 is ready.
    loop {
        let mut out = std::ptr::null_mut();
        // SAFETY: live engine, valid strings.
        unsafe { jellyscale_status(engine, ids[0].as_ptr(), &mut out) };
        let json = take(out);
        if json.contains("\"state\":\"done\"") {
            break;
        }
        assert!(!json.contains("\"state\":\"failed\""), "{json}");
        std::thread::sleep(Duration::from_millis(50));
    }
    measure(engine, &ids, "1 encoding, 98 queued");
    for id in &ids[1..] {
        // SAFETY: live engine, valid strings.
        unsafe { jellyscale_cancel(engine, id.as_ptr()) };
    }
    std::thread::sleep(Duration::from_millis(500));
    measure(engine, &ids, "idle, 100 registered");
    // SAFETY: freed once, nothing else running.
    unsafe { jellyscale_engine_free(engine) };
}
