//! Engine memory: this process's resident set (VmRSS) with 0, 10 and 100 jobs registered, ffmpeg
//! excluded (ffmpeg runs in its own processes; with `max_concurrent_jobs` 1 one job encodes and
//! the others queue), then with the 100 jobs cancelled. The sources are one 30 s 160x90 clip
//! hard-linked under 100 names, so most jobs are still queued when measured.
//!
//! Then the CLI: the release `jellyscale upscale CLIP --json` (the binary `cargo bench` builds),
//! its own peak (VmHWM) sampled every 20 ms while it runs, and its ffmpeg and ffprobe children's
//! peaks beside it for context. wait4's ru_maxrss cannot tell them apart: it is the largest peak
//! of the process and every child it waited for, which is ffmpeg's.
//!
//! `cargo bench --bench memory` (or `scripts/bench`). Not a test: nothing here asserts sizes.

use jellyscale::{Backend, Config, Engine, StreamRequest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A `Vm...:` field of `/proc/<pid>/status`; `None` once the process is gone.
fn proc_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(field))?[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn vm_kb(field: &str) -> u64 {
    proc_kb("self", field).unwrap_or(0)
}

fn settle() -> u64 {
    std::thread::sleep(Duration::from_millis(500));
    vm_kb("VmRSS:")
}

/// The (pid, command name) of each child of `parent`.
fn children(parent: u32) -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| {
        let pid = e.ok()?.file_name().into_string().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid ...`, and comm may itself hold spaces or parentheses.
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        let ppid: u32 = rest.split(' ').nth(1)?.parse().ok()?;
        (ppid == parent).then(|| (pid, comm.to_owned()))
    })
    .collect()
}

struct CliPeaks {
    /// The CLI process's own VmHWM, kB.
    cli: u64,
    /// Largest VmHWM per child command name, kB, with the number of such children seen.
    children: BTreeMap<String, (u64, usize)>,
    /// ru_maxrss from wait4, kB.
    wait4: u64,
    elapsed: Duration,
    status_lines: usize,
}

/// Runs `jellyscale upscale CLIP --json` and follows its peaks until it exits. Children that live
/// less than one 20 ms poll are missed; ffmpeg lives for the whole encode.
fn cli_upscale(dir: &Path, clip: &Path) -> CliPeaks {
    let stdout = dir.join("cli-stdout.jsonl");
    let t = Instant::now();
    #[expect(clippy::zombie_processes, reason = "reaped by the wait4 below, which also gives its rusage")]
    let child = Command::new(env!("CARGO_BIN_EXE_jellyscale"))
        .arg("upscale")
        .arg(clip)
        .arg("--json")
        .arg("--cache-dir")
        .arg(dir.join("cli-cache"))
        .arg("--out")
        .arg(dir.join("cli-out"))
        .stdout(std::fs::File::create(&stdout).unwrap())
        .spawn()
        .expect("jellyscale runs");
    let pid = child.id().to_string();
    let (mut cli, mut seen) = (0, BTreeMap::<String, (String, u64)>::new());
    // SAFETY: rusage is plain integers, for which zero is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut wstatus = 0;
    loop {
        // VmHWM only grows: the last sample is the peak up to 20 ms before the exit.
        cli = cli.max(proc_kb(&pid, "VmHWM:").unwrap_or(0));
        for (child_pid, comm) in children(child.id()) {
            let hwm = proc_kb(&child_pid, "VmHWM:").unwrap_or(0);
            // The latest name: a child seen between fork and exec still has the CLI's.
            let entry = seen.entry(child_pid).or_default();
            *entry = (comm, entry.1.max(hwm));
        }
        // SAFETY: our own child, reaped only here; `usage` and `wstatus` are writable.
        let reaped = unsafe { libc::wait4(child.id() as i32, &mut wstatus, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = t.elapsed();
    assert!(libc::WIFEXITED(wstatus) && libc::WEXITSTATUS(wstatus) == 0, "jellyscale upscale failed: {wstatus}");
    let mut children = BTreeMap::<String, (u64, usize)>::new();
    for (comm, hwm) in seen.into_values() {
        let entry = children.entry(comm).or_default();
        *entry = (entry.0.max(hwm), entry.1 + 1);
    }
    let status_lines = std::fs::read_to_string(&stdout).unwrap().lines().filter(|l| l.starts_with('{')).count();
    CliPeaks { cli, children, wait4: usage.ru_maxrss as u64, elapsed, status_lines }
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

/// A row with no engine baseline to compare with.
fn plain_row(label: &str, jobs: &str, kb: u64) {
    println!("{label:<52} {jobs:>5} {kb:>10} {:>10} {:>10}", "", "");
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
    plain_row("process before the engine", "-", before);
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

    // After the engine's shutdown, so its ffmpeg does not compete with the CLI's.
    let cli = cli_upscale(tmp.path(), &sources[0]);
    plain_row("CLI `upscale --json`, peak VmHWM (ffmpeg excluded)", "1", cli.cli);
    for (comm, (hwm, n)) in &cli.children {
        plain_row(&format!("  its {comm} children ({n}), largest VmHWM"), "", *hwm);
    }
    plain_row("  wait4 ru_maxrss (CLI and children: the largest)", "", cli.wait4);
    println!("(the CLI upscaled the 30 s clip in {:.1?}, {} JSON status lines)", cli.elapsed, cli.status_lines);
}
