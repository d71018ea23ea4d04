//! Crash and restart: the segments on disk are the truth, and nothing encoded is lost.

mod common;

use common::*;
use jellyscale::{Codec, Config, Engine, JobState};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn after_sigkill_a_new_engine_lists_the_job_paused_and_continues_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 60.0, "320x180", &[]);
    let cfg = config(dir.path(), 2);
    let mut owner = Command::new(env!("CARGO_BIN_EXE_jellyscale"))
        .args(["upscale", "--backend", "cpu", "--segment-seconds", "2", "--preset", "slow", "--json"])
        .arg("--cache-dir")
        .arg(&cfg.cache_dir)
        .arg("--out")
        .arg(cfg.output_dir.as_ref().unwrap())
        .arg(&src)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a few segments exist, then kill the process that owns the engine.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (job_dir, encoder) = loop {
        assert!(Instant::now() < deadline, "no segments appeared");
        let found = std::fs::read_dir(&cfg.cache_dir).ok().and_then(|rd| {
            rd.flatten().find(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false) && e.file_name().len() == 32)
        });
        if let Some(d) = found {
            let segs = std::fs::read_dir(d.path())
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".ts"))
                .count();
            let enc = ffmpeg_children(owner.id(), dir.path());
            if segs >= 3 && enc.len() == 1 {
                break (d.path(), enc[0]);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    kill_and_see_it_die(&mut owner, encoder);
    let on_disk: Vec<String> =
        std::fs::read_dir(&job_dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    let complete = on_disk.iter().filter(|n| n.starts_with("seg_") && n.ends_with(".ts")).count();
    assert!(complete >= 3, "{on_disk:?}");

    let engine = Engine::new(cfg).unwrap();
    let listed = engine.list();
    assert_eq!(listed.len(), 1, "the unfinished job is listed");
    assert_eq!(listed[0].state, JobState::Paused);
    // Segments left on disk count once the resumed job has verified them, not before.
    assert!(
        !std::fs::read_dir(&job_dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().ends_with(".tmp")),
        "the half-written segment is gone, never served"
    );

    let req = request(&src, Codec::H264);
    let st = engine.start(req).unwrap();
    assert_eq!(st.job_id, listed[0].job_id);
    let job = engine.job(&st.job_id).unwrap();
    let done = engine.block_on(job.wait_terminal(Duration::from_secs(300)));
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    // The resumed run started where the disk left off, not at 0.
    let logs: Vec<u32> = std::fs::read_dir(&job_dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_prefix("ffmpeg-")?.strip_suffix(".log")?.parse().ok())
        .collect();
    assert!(logs.iter().any(|&k| k as usize >= complete), "runs started at {logs:?}");
    let frames = frame_count(&done.final_path.unwrap());
    assert_eq!(frames, 60 * 24);
}

#[test]
fn a_changed_source_discards_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 30.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let req = request(&src, Codec::H264);
    let old_id = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(req.clone()).unwrap();
        engine.block_on(engine.wait_segment(&st.job_id, 1, Duration::from_secs(60))).unwrap();
        st.job_id
    };
    assert!(cfg.cache_dir.join(&old_id).is_dir());
    // Same path, new content.
    clip(dir.path(), "movie.mp4", 20.0, "320x180", &["-vf", "negate"]);
    let engine = Engine::new(cfg.clone()).unwrap();
    assert!(!cfg.cache_dir.join(&old_id).exists(), "stale segments were kept");
    let st = engine.start(req).unwrap();
    assert_ne!(st.job_id, old_id);
    assert_eq!(st.segments_ready, 0);
}

#[test]
fn with_resume_unfinished_a_new_engine_finishes_jobs_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 20.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let req = request(&src, Codec::H264);
    let id = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(req).unwrap();
        engine.block_on(engine.wait_segment(&st.job_id, 1, Duration::from_secs(60))).unwrap();
        st.job_id
        // Dropping the engine stops ffmpeg mid-job; the segments stay.
    };
    cfg.resume_unfinished = true;
    cfg.cpu_preset = "ultrafast".into();
    let engine = Engine::new(cfg).unwrap();
    let job = engine.job(&id).expect("the unfinished job is registered at start");
    assert_ne!(job.state(), JobState::Paused);
    let done = engine.block_on(job.wait_terminal(Duration::from_secs(120)));
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
}

#[test]
fn a_restarted_engine_knows_its_unfinished_jobs_without_probing_their_sources_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 30.0, "320x180", &[]);
    let cfg = config(dir.path(), 2);
    {
        // Slow enough that the job is still unfinished when this engine goes.
        let engine = Engine::new(Config { cpu_preset: "slow".into(), ..cfg.clone() }).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        let job = engine.job(&st.job_id).unwrap();
        engine.block_on(job.wait_segment(2, Duration::from_secs(120))).unwrap();
    }
    // The next engine's ffprobe writes down every file it is asked about.
    let calls = dir.path().join("ffprobe-calls");
    let script = wrapped_ffprobe(dir.path(), &format!("echo \"$*\" >> '{}'", calls.display()));
    let probed = || std::fs::read_to_string(&calls).unwrap_or_default();

    let engine = Engine::new(Config { ffprobe_path: Some(script), ..cfg }).unwrap();
    let listed = engine.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, JobState::Paused, "{:?}", listed[0]);
    assert!(!probed().contains("movie.mp4"), "probed again although the manifest holds ffprobe's answer: {}", probed());

    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!(st.job_id, listed[0].job_id);
    assert_eq!(run_to_end(&engine, &st.job_id).state, JobState::Done);
    assert!(!probed().contains("movie.mp4"), "{}", probed());
}

/// Every live ffmpeg working inside `dir`, whoever its parent.
fn ffmpegs_inside(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
            comm.trim() == "ffmpeg" && cwd.is_ok_and(|c| c.starts_with(dir)) && alive(*pid)
        })
        .collect()
}

#[test]
fn an_ffmpeg_behind_a_wrapper_script_dies_with_an_engine_killed_by_sigkill() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 60.0, "320x180", &[]);
    // As rffmpeg-style setups are: a script that runs ffmpeg as its child, without exec.
    let wrapper = dir.path().join("ffmpeg-wrapper");
    let real = which::which("ffmpeg").unwrap();
    std::fs::write(&wrapper, format!("#!/bin/sh\n'{}' \"$@\"\nexit $?\n", real.display())).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cache = dir.path().join("cache");
    let mut owner = Command::new(env!("CARGO_BIN_EXE_jellyscale"))
        .args(["upscale", "--backend", "cpu", "--preset", "slow", "--ffmpeg"])
        .arg(&wrapper)
        .arg("--cache-dir")
        .arg(&cache)
        .arg(&src)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let encoder = loop {
        assert!(Instant::now() < deadline, "the wrapped ffmpeg never started");
        if let [pid] = ffmpegs_inside(&cache)[..] {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    kill_and_see_it_die(&mut owner, encoder);
}

/// SIGKILLs the process that owns an engine; its `encoder` must die within seconds.
fn kill_and_see_it_die(owner: &mut std::process::Child, encoder: u32) {
    owner.kill().unwrap();
    owner.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(encoder) {
        assert!(Instant::now() < deadline, "ffmpeg {encoder} outlived the process that owned it");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_job_cancelled_before_a_restart_is_listed_cancelled_after_it_and_a_start_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 30.0, "320x180", &[]);
    let mut cfg = Config { cpu_preset: "slow".into(), ..config(dir.path(), 2) };
    let (id, made) = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        engine.block_on(engine.wait_segment(&st.job_id, 1, Duration::from_secs(60))).unwrap();
        engine.cancel(&st.job_id).unwrap();
        let end = run_to_end(&engine, &st.job_id);
        assert_eq!(end.state, JobState::Cancelled);
        (st.job_id, end.segments_ready)
    };
    // Even an engine that resumes unfinished jobs by itself leaves this one as its user did.
    cfg.resume_unfinished = true;
    cfg.cpu_preset = "ultrafast".into();
    let engine = Engine::new(cfg).unwrap();
    let listed = engine.list();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let end = run_to_end(&engine, &id);
    assert_eq!(end.state, JobState::Cancelled, "{end:?}");
    std::thread::sleep(Duration::from_secs(2));
    let later = engine.status(&id).unwrap();
    assert_eq!((later.state, later.segments_ready), (JobState::Cancelled, end.segments_ready), "it went on");
    assert!(ffmpeg_children(std::process::id(), dir.path()).is_empty(), "an encoder runs for it");
    // Its segments stay for a start, which wants it again: it goes on from them and finishes.
    let kept = std::fs::read_dir(dir.path().join("cache").join(&id))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("seg_"))
        .count();
    assert!(kept as u32 >= made.min(2), "{kept} of {made} segments kept");
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!(st.job_id, id);
    let done = run_to_end(&engine, &id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
}
