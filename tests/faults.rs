//! Faults: ffmpeg killed, missing or not executable, unwritable folders, a full disk, the source
//! deleted mid-job, two engines on one cache. Each ends clearly and loses nothing finished.

mod common;

use common::*;
use jellyscale::{Codec, Config, Engine, ErrorCode, JobState};
use std::time::Duration;

#[test]
fn ffmpeg_killed_mid_run_is_retried_from_the_segments_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "a.mp4", 30.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    engine.block_on(job.wait_segment(1, Duration::from_secs(60))).unwrap();
    let pids = ffmpeg_children(std::process::id(), dir.path());
    assert_eq!(pids.len(), 1);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pids[0] as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    let done = engine.block_on(job.wait_terminal(Duration::from_secs(300)));
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let runs = std::fs::read_dir(dir.path().join("cache").join(&st.job_id))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ffmpeg-"))
        .count();
    assert!(runs >= 2, "the job ran ffmpeg again after the kill");
}

#[test]
fn missing_or_non_executable_ffmpeg_is_a_clear_ffmpeg_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 2);
    cfg.ffmpeg_path = Some(dir.path().join("no-such-ffmpeg"));
    let e = Engine::new(cfg.clone()).err().unwrap();
    assert_eq!(e.code, ErrorCode::Ffmpeg);
    assert!(e.message.contains("no-such-ffmpeg"), "{}", e.message);
    let not_exec = dir.path().join("ffmpeg");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    cfg.ffmpeg_path = Some(not_exec);
    let e = Engine::new(cfg).err().unwrap();
    assert_eq!(e.code, ErrorCode::Ffmpeg);
    assert!(e.message.contains("not an executable"), "{}", e.message);
}

#[test]
fn an_unwritable_cache_folder_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let cfg = Config { cache_dir: file.join("cache"), ..config(dir.path(), 2) };
    let e = Engine::new(cfg).err().unwrap();
    assert_eq!(e.code, ErrorCode::Io, "{e:?}");
}

#[test]
fn a_second_engine_on_the_same_cache_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let first = Engine::new(config(dir.path(), 2)).unwrap();
    let e = Engine::new(config(dir.path(), 2)).err().unwrap();
    assert_eq!(e.code, ErrorCode::Busy);
    assert!(e.message.contains("in use"), "{}", e.message);
    drop(first);
    Engine::new(config(dir.path(), 2)).expect("free again once the first is gone");
}

struct Tmpfs(std::path::PathBuf);
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_no_partial_final_file_and_keeps_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "a.mp4", 20.0, "320x180", &[]);
    let small = dir.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    // A 512 KiB file system: the ~2 MB finished file cannot fit.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&small)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(mounted || std::env::var("CI").is_err(), "mounting a tmpfs needs root; CI runs as root");
    if !mounted {
        eprintln!("not root: cannot mount a small tmpfs, skipping");
        return;
    }
    let _guard = Tmpfs(small.clone());
    let cfg = Config { output_dir: Some(small.clone()), ..config(dir.path(), 4) };
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let done = engine.block_on(engine.job(&st.job_id).unwrap().wait_terminal(Duration::from_secs(120)));
    assert_eq!(done.state, JobState::Failed);
    let e = done.error.unwrap();
    assert_eq!(e.code, ErrorCode::Io, "{e:?}");
    assert_eq!(std::fs::read_dir(&small).unwrap().count(), 0, "a partial final file was left");
    let segs = std::fs::read_dir(dir.path().join("cache").join(&st.job_id))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("seg_"))
        .count();
    assert_eq!(segs as u32, st.segment_count, "the encoded segments are kept for a later try");
}

#[test]
fn a_source_deleted_mid_job_fails_clearly_when_it_must_be_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "gone.mp4", 60.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    engine.block_on(job.wait_segment(0, Duration::from_secs(60))).unwrap();
    std::fs::remove_file(&src).unwrap();
    // A seek makes ffmpeg open the source again.
    let r = engine.block_on(job.wait_segment(25, Duration::from_secs(60)));
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::BadInput, "{e:?}");
    assert!(e.message.contains("cannot be read any more") && e.message.contains("No such file"), "{}", e.message);
    assert_eq!(job.state(), JobState::Failed);
    assert!(ffmpeg_children(std::process::id(), dir.path()).is_empty());
}

#[test]
fn a_manifest_that_cannot_be_written_fails_the_job_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "a.mp4", 20.0, "320x180", &[]);
    let cfg = config(dir.path(), 2);
    let engine = Engine::new(cfg.clone()).unwrap();
    // Learn the job's folder, then put a directory where its manifest goes.
    let id = engine.start(request(&src, Codec::H264)).unwrap().job_id;
    engine.cancel(&id).unwrap();
    assert_eq!(run_to_end(&engine, &id).state, JobState::Cancelled);
    let manifest = cfg.cache_dir.join(&id).join("job.json");
    let _ = std::fs::remove_file(&manifest);
    std::fs::create_dir_all(manifest.join("in the way")).unwrap();

    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!(st.job_id, id, "the same job, started again");
    let done = run_to_end(&engine, &id);
    assert_eq!(done.state, JobState::Failed);
    let error = done.error.unwrap();
    assert_eq!(error.code, ErrorCode::Io, "{error:?}");
    assert!(error.message.contains("job.json"), "{}", error.message);
    let saved = std::fs::read_dir(cfg.output_dir.unwrap()).map(|rd| rd.count()).unwrap_or(0);
    assert_eq!(saved, 0, "no final file without a manifest");
}
