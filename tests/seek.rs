//! Seeking while upscaling: restarts at segment boundaries line up exactly, seek storms end in
//! a correct final file, and a far request over HTTP is served long before a linear encode.

mod common;

use common::*;
use jellyscale::{Codec, Engine, JobState};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Asserts the file's video frames are exactly `frames` with one frame duration between each
/// pair (no duplicate, no hole), and that audio ends with the video (within 100 ms).
fn assert_continuous(file: &Path, frames: usize, fps: f64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let mut pts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    pts.sort_by(|a, b| a.total_cmp(b));
    assert_eq!(pts.len(), frames, "frame count");
    for w in pts.windows(2) {
        assert!((w[1] - w[0] - 1.0 / fps).abs() < 0.002, "gap or duplicate between {} and {}", w[0], w[1]);
    }
    // Span of presentation times (first start to last end): MPEG-TS stream durations from
    // ffprobe are estimates, packet times are what players schedule by. Video packets of a
    // passthrough encode carry no duration: a frame lasts 1/fps.
    let span = |sel: &str| -> (f64, f64) {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                sel,
                "-show_entries",
                "packet=pts_time,duration_time",
                "-of",
                "csv=p=0",
            ])
            .arg(file)
            .output()
            .unwrap();
        let mut lo = f64::MAX;
        let mut hi = f64::MIN;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut f = line.split(',').map(|x| x.trim().parse::<f64>().ok());
            if let Some(Some(p)) = f.next() {
                let d = f.next().flatten().unwrap_or(1.0 / fps);
                lo = lo.min(p);
                hi = hi.max(p + d);
            }
        }
        (lo, hi)
    };
    let (v0, v1) = span("v:0");
    let (a0, a1) = span("a:0");
    assert!((v0 - a0).abs() < 0.1 && (v1 - a1).abs() < 0.1, "audio {a0}..{a1} vs video {v0}..{v1}");
}

#[test]
fn segments_from_three_runs_join_into_a_continuous_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "sixty.mp4", 60.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    let wait = |k| engine.block_on(job.wait_segment(k, Duration::from_secs(120))).unwrap();
    wait(0);
    wait(15); // seek to 30 s
    let ranges = job.status().ready_ranges;
    let covers_20s = ranges.iter().any(|r| r[0] <= 10 && 10 <= r[1]);
    assert!(!covers_20s || job.state() == JobState::Done, "the seek made a run at 30 s: {ranges:?}");
    wait(5); // and back to 10 s
    let done = engine.block_on(job.wait_terminal(Duration::from_secs(300)));
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let logs = std::fs::read_dir(dir.path().join("cache").join(&st.job_id))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ffmpeg-"))
        .count();
    assert!(logs >= 3, "three or more encoder runs, got {logs}");
    assert_continuous(&done.final_path.unwrap(), 60 * 24, 24.0);
}

#[test]
fn a_seek_storm_from_four_clients_ends_in_a_correct_file_and_no_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "sixty.mp4", 60.0, "320x180", &[]);
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    std::thread::scope(|s| {
        for client in 0..4u32 {
            let job = job.clone();
            let engine = &engine;
            s.spawn(move || {
                let mut x = 0x9E37_79B9u32.wrapping_mul(client + 1);
                for _ in 0..13 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let k = x % 30;
                    let got = engine.block_on(job.wait_segment(k, Duration::from_secs(120)));
                    assert!(got.is_ok(), "segment {k}: {got:?}");
                }
            });
        }
    });
    let done = engine.block_on(job.wait_terminal(Duration::from_secs(300)));
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert_continuous(&done.final_path.unwrap(), 60 * 24, 24.0);
    assert!(ffmpeg_children(std::process::id(), dir.path()).is_empty());
}
