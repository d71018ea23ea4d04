//! Lifetime like Jellyfin's transcoder: while viewers ask for segments the encoder runs at
//! normal priority; once they have been idle it drops to background priority and still
//! finishes the saved file; a returning viewer gets normal priority back.

mod common;

use common::*;
use jellyscale::{Codec, Engine, JobState};
use std::time::{Duration, Instant};

/// The nice value of a process (field 19 of /proc/PID/stat).
fn nice_of(pid: u32) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(16)).and_then(|n| n.parse().ok()).unwrap_or(i64::MIN)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn idle_viewers_lower_the_encoder_priority_and_a_returning_viewer_raises_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "long.mp4", 60.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 2);
    // Slow enough that the job is still encoding when the viewer comes back.
    cfg.cpu_preset = "veryslow".into();
    cfg.viewer_idle_seconds = 2;
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    engine.block_on(job.wait_segment(0, Duration::from_secs(60))).unwrap();
    let encoder = || ffmpeg_children(std::process::id(), dir.path()).first().copied();
    // Niceness relative to ours: the suite may itself run under `nice`.
    let own = nice_of(std::process::id());
    let background = (own + 10).min(19);
    assert_eq!(job.status().priority, Some("interactive"));
    assert_eq!(encoder().map(nice_of), Some(own));

    // Nobody asks for anything: background priority, and the job keeps encoding.
    wait_for("background priority", || job.status().priority == Some("background"));
    // At niceness 19 already there is no lower priority to give; the status still says so.
    wait_for("a niced encoder", || encoder().map(nice_of) == Some(background));
    assert_eq!(job.state(), JobState::Running);

    // A viewer is back.
    let next = job.status().segments_ready;
    engine.block_on(job.wait_segment(next, Duration::from_secs(60))).unwrap();
    wait_for("interactive priority", || job.status().priority == Some("interactive"));
    wait_for("an encoder at our priority", || encoder().map(nice_of) == Some(own));
    engine.cancel(&st.job_id).unwrap();
}
