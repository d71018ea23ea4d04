//! Hammers the C ABI from 32 threads through the real cdylib (loaded with libloading): starts,
//! statuses, cancels, playlists and segment waits on a few shared jobs. Proves no crash, every
//! registered wait calls back exactly once (by `jellyscale_engine_free` at the latest), and no
//! ffmpeg child outlives the engine.

mod common;

use common::abi::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One counter per registered wait; the callback's user data is its slot number + 1.
struct Slots {
    fired: Vec<AtomicU32>,
    bad_status: AtomicU32,
    ok: AtomicU32,
    next: AtomicUsize,
}

static SLOTS: std::sync::OnceLock<Slots> = std::sync::OnceLock::new();

unsafe extern "C" fn on_segment(user_data: *mut c_void, status: Status, json: *const c_char) {
    let slots = SLOTS.get().expect("slots");
    let slot = user_data as usize - 1;
    slots.fired[slot].fetch_add(1, Ordering::SeqCst);
    // SAFETY: borrowed for the call.
    let json = unsafe { CStr::from_ptr(json) }.to_string_lossy();
    if status == OK {
        slots.ok.fetch_add(1, Ordering::Relaxed);
        if !json.contains("\"path\":\"/") {
            slots.bad_status.fetch_add(1, Ordering::Relaxed);
        }
    } else if status == INTERNAL || status == INVALID_ARGUMENT || !json.contains("\"code\"") {
        slots.bad_status.fetch_add(1, Ordering::Relaxed);
    }
}

fn make_clips(dir: &Path, n: usize) -> Vec<PathBuf> {
    let first = dir.join("clip0.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "6", "-c:v", "libx264", "-preset", "veryfast"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&first)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let mut clips = vec![first.clone()];
    for i in 1..n {
        let p = dir.join(format!("clip{i}.mp4"));
        std::fs::hard_link(&first, &p).unwrap();
        clips.push(p);
    }
    clips
}

/// Live (or zombie) ffmpeg processes whose parent is this process.
fn ffmpeg_children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid ...
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = &stat[open + 1..close];
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if comm == "ffmpeg" && rest.get(1) == Some(&me.as_str()) {
            found.push(format!("{} state {}", &stat[..open].trim(), rest[0]));
        }
    }
    found
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy)]
struct EnginePtr(*mut c_void);
// SAFETY: the engine is documented as safe to use from any thread concurrently.
unsafe impl Send for EnginePtr {}
unsafe impl Sync for EnginePtr {}

const THREADS: usize = 32;
const ROUNDS: usize = 30;

#[test]
fn thirty_two_threads_share_jobs_and_every_wait_calls_back_once() {
    let abi = Arc::new(Abi::load());
    let tmp = tempfile::tempdir().unwrap();
    let clips = make_clips(tmp.path(), 3);
    SLOTS.get_or_init(|| Slots {
        fired: (0..THREADS * ROUNDS).map(|_| AtomicU32::new(0)).collect(),
        bad_status: AtomicU32::new(0),
        ok: AtomicU32::new(0),
        next: AtomicUsize::new(0),
    });
    let slots = SLOTS.get().unwrap();

    let config = CString::new(format!(
        r#"{{"backend":"cpu","cache_dir":"{}","segment_seconds":2,"cpu_preset":"ultrafast","max_concurrent_jobs":2}}"#,
        tmp.path().join("cache").display()
    ))
    .unwrap();
    let mut engine: *mut c_void = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let st = unsafe { (abi.engine_new)(config.as_ptr(), &mut engine, &mut err) };
    assert_eq!(st, OK, "{}", abi.take(err));
    let engine = EnginePtr(engine);
    let requests: Arc<Vec<CString>> =
        Arc::new(clips.iter().map(|c| CString::new(format!(r#"{{"input":"{}"}}"#, c.display())).unwrap()).collect());

    let start = |request: &CString| -> (CString, u64) {
        let mut out = std::ptr::null_mut();
        // SAFETY: valid engine and strings.
        let st = unsafe { (abi.start_stream)(engine.0, request.as_ptr(), &mut out) };
        let json = abi.take(out);
        assert_eq!(st, OK, "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        (CString::new(v["job_id"].as_str().unwrap()).unwrap(), v["segment_count"].as_u64().unwrap())
    };
    let jobs: Arc<Vec<(CString, u64)>> = Arc::new(requests.iter().map(start).collect());

    let started = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let abi = abi.clone();
            let requests = requests.clone();
            let jobs = jobs.clone();
            std::thread::spawn(move || {
                let engine = engine;
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
                let mut errors = Vec::new();
                for _ in 0..ROUNDS {
                    let which = rng.below(requests.len() as u64) as usize;
                    let (id, count) = (&jobs[which].0, jobs[which].1);
                    // SAFETY (all calls below): valid engine and NUL-terminated strings.
                    match rng.below(20) {
                        0 | 1 => {
                            // Joins the job, or restarts it after a cancel.
                            let mut out = std::ptr::null_mut();
                            let st = unsafe { (abi.start_stream)(engine.0, requests[which].as_ptr(), &mut out) };
                            let json = abi.take(out);
                            if st != OK || !json.contains(id.to_str().unwrap()) {
                                errors.push(format!("start: {st} {json}"));
                            }
                        }
                        2 => {
                            let st = unsafe { (abi.cancel)(engine.0, id.as_ptr()) };
                            if st != OK {
                                errors.push(format!("cancel: {st}"));
                            }
                        }
                        3 | 4 => {
                            let mut out = std::ptr::null_mut();
                            let st = unsafe { (abi.list_jobs)(engine.0, &mut out) };
                            if st != OK || !abi.take(out).starts_with('[') {
                                errors.push(format!("list_jobs: {st}"));
                            }
                        }
                        5 | 6 => {
                            let mut out = std::ptr::null_mut();
                            let q = c"t=1";
                            let st = unsafe { (abi.playlist)(engine.0, id.as_ptr(), q.as_ptr(), &mut out) };
                            if st != OK || !abi.take(out).contains("#EXT-X-ENDLIST") {
                                errors.push(format!("playlist: {st}"));
                            }
                        }
                        7 => {
                            let mut out = std::ptr::null_mut();
                            let st = unsafe { (abi.status)(engine.0, c"0123".as_ptr(), &mut out) };
                            if st != NOT_FOUND || !abi.take(out).contains("not_found") {
                                errors.push(format!("status(unknown): {st}"));
                            }
                        }
                        _ => {
                            let mut out = std::ptr::null_mut();
                            let st = unsafe { (abi.status)(engine.0, id.as_ptr(), &mut out) };
                            let status = abi.take(out);
                            if st != OK || !status.contains("\"state\"") {
                                errors.push(format!("status: {st} {status}"));
                            }
                        }
                    }
                    let slot = slots.next.fetch_add(1, Ordering::SeqCst);
                    let k = rng.below(count) as u32;
                    let timeout = [0, 50, 2_000, 60_000][rng.below(4) as usize];
                    let st = unsafe {
                        (abi.wait_segment)(
                            engine.0,
                            id.as_ptr(),
                            k,
                            timeout,
                            Some(on_segment),
                            (slot + 1) as *mut c_void,
                        )
                    };
                    if st != OK {
                        errors.push(format!("wait_segment: {st}"));
                        // Not registered: mark so the exactly-once check expects no call.
                        slots.fired[slot].fetch_add(1000, Ordering::SeqCst);
                    }
                }
                errors
            })
        })
        .collect();
    let errors: Vec<String> = handles.into_iter().flat_map(|h| h.join().expect("no thread panicked")).collect();
    assert!(errors.is_empty(), "{} failed calls, first: {:?}", errors.len(), &errors[..errors.len().min(5)]);
    println!("{} calls from {THREADS} threads in {:?}", THREADS * ROUNDS * 2, started.elapsed());

    // Free the engine while an ffmpeg runs: a slower HEVC job, once its encoder is up.
    let hevc = CString::new(format!(r#"{{"input":"{}","codec":"hevc"}}"#, clips[0].display())).unwrap();
    start(&hevc);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ffmpeg_children().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let had_children = !ffmpeg_children().is_empty();
    let freeing = Instant::now();
    // SAFETY: the engine from engine_new, freed once, no other call running.
    unsafe { (abi.engine_free)(engine.0) };
    println!("engine_free took {:?} (ffmpeg running before: {had_children})", freeing.elapsed());

    let registered = slots.next.load(Ordering::SeqCst);
    let wrong: Vec<(usize, u32)> =
        (0..registered).map(|i| (i, slots.fired[i].load(Ordering::SeqCst))).filter(|&(_, n)| n != 1).collect();
    assert!(wrong.is_empty(), "waits not called back exactly once (slot, calls): {wrong:?}");
    assert_eq!(slots.bad_status.load(Ordering::SeqCst), 0, "callbacks with a bad status or JSON");
    println!("{registered} waits called back once each, {} with a ready segment", slots.ok.load(Ordering::SeqCst));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        slots.fired[..registered].iter().all(|f| f.load(Ordering::SeqCst) == 1),
        "a callback fired after engine_free"
    );
    let left = ffmpeg_children();
    assert!(left.is_empty(), "ffmpeg children left after engine_free: {left:?}");
}
