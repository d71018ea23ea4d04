//! Engine memory: this process's resident set (VmRSS) with 0, 10 and 100 jobs registered, ffmpeg
//! excluded (ffmpeg runs in its own processes; with `max_concurrent_jobs` 1 one job encodes and
//! the others queue), then with the 100 jobs cancelled. The sources are one 30 s 160x90 clip
//! hard-linked under 100 names, so most jobs are still queued when measured.
//!
//! `cargo bench --bench memory` (or `scripts/bench`). Not a test: nothing here asserts sizes.

use jellyscale::{Backend, Config, Engine, StreamRequest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn vm_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l[field.len()..].trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn settle() -> u64 {
    std::thread::sleep(Duration::from_millis(500));
    vm_kb("VmRSS:")
}

fn config(dir: &Path) -> Config {
    Config {
        cache_dir: dir.join("cache"),
        output_dir: Some(dir.join("out")),
        backend: Backend::Cpu,
        segment_seconds: 1,
        cpu_preset: "ultrafast".into(),
        max_concurrent_jobs: 1,
        max_queued_jobs: 200,
        ..Config::default()
    }
}

fn request(p: &Path) -> StreamRequest {
    serde_json::from_value(serde_json::json!({ "input": p })).unwrap()
}

/// Starts the jobs of `sources` from 8 threads (each start runs ffprobe).
fn register(engine: &Engine, sources: &[PathBuf]) -> Vec<String> {
    std::thread::scope(|s| {
        let workers: Vec<_> = sources
            .chunks(sources.len().div_ceil(8))
            .map(|chunk| {
                s.spawn(move || {
                    chunk.iter().map(|p| engine.start(request(p)).expect("start").job_id).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

fn row(label: &str, jobs: usize, rss: u64, base: u64) {
    let per_job = if jobs > 0 { format!("{:.1}", (rss as f64 - base as f64) / jobs as f64) } else { "-".into() };
    println!("{label:<52} {jobs:>5} {rss:>10} {:>+10} {per_job:>10}", rss as i64 - base as i64);
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` runs benches without --bench: nothing to test here.
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("clip0.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24"])
        .args(["-t", "30", "-c:v", "libx264", "-preset", "ultrafast"])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "cannot make the clip");
    let sources: Vec<PathBuf> = (0..100)
        .map(|i| {
            let p = tmp.path().join(format!("clip{i}.mp4"));
            if i > 0 {
                std::fs::hard_link(&clip, &p).unwrap();
            }
            p
        })
        .collect();

    let before = settle();
    let engine = Engine::new(config(tmp.path())).expect("engine");
    let empty = settle();
    println!("\nEngine memory: VmRSS of this process (kB), ffmpeg excluded; max_concurrent_jobs 1, the rest queued");
    println!("{:<52} {:>5} {:>10} {:>10} {:>10}", "state", "jobs", "VmRSS kB", "vs 0 jobs", "kB/job");
    println!("{:<52} {:>5} {before:>10} {:>10} {:>10}", "process before the engine", "-", "", "");
    row("engine, 0 jobs", 0, empty, empty);
    let ids = register(&engine, &sources[..10]);
    let states = |e: &Engine| {
        let mut by_state = std::collections::BTreeMap::<String, usize>::new();
        for j in e.list() {
            *by_state.entry(format!("{:?}", j.state).to_lowercase()).or_default() += 1;
        }
        by_state.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")
    };
    let rss = settle();
    row(&format!("10 jobs ({})", states(&engine)), 10, rss, empty);
    let t = Instant::now();
    let more = register(&engine, &sources[10..]);
    let registering = t.elapsed();
    let rss = settle();
    row(&format!("100 jobs ({})", states(&engine)), 100, rss, empty);
    for id in ids.iter().chain(&more) {
        engine.cancel(id).unwrap();
    }
    row("100 jobs cancelled (still registered)", 100, settle(), empty);
    println!(
        "(90 starts from 8 threads took {registering:.1?}: each start probes its source; peak VmHWM {} kB)",
        vm_kb("VmHWM:")
    );
    engine.shutdown();
}
