//! Cleanup by age and size: finished files and job folders go oldest first, jobs at work stay,
//! and a deleted job is forgotten (its id is no longer found).

mod common;

use common::*;
use jellyscale::{Codec, Engine, ErrorCode, JobState};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Sets the modification time of `path` and everything under it `days` into the past.
fn age(path: &Path, days: u32) {
    let ok = Command::new("find")
        .arg(path)
        .args(["-exec", "touch", "-h", "-d", &format!("{days} days ago"), "{}", "+"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "touch {}", path.display());
}

#[test]
fn cleanup_deletes_old_finished_jobs_and_keeps_the_ones_at_work() {
    let dir = tempfile::tempdir().unwrap();
    let old_src = clip(dir.path(), "old.mp4", 3.0, "320x180", &[]);
    let new_src = clip(dir.path(), "new.mp4", 3.0, "320x180", &[]);
    let busy_src = clip(dir.path(), "busy.mp4", 60.0, "320x180", &[]);
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let old = engine.start(request(&old_src, Codec::H264)).unwrap().job_id;
    let new = engine.start(request(&new_src, Codec::H264)).unwrap().job_id;
    let (old_done, new_done) = (run_to_end(&engine, &old), run_to_end(&engine, &new));
    assert_eq!((old_done.state, new_done.state), (JobState::Done, JobState::Done));
    let busy = engine.start(request(&busy_src, Codec::H264)).unwrap().job_id;

    let cache = dir.path().join("cache");
    let old_final = old_done.final_path.unwrap();
    for p in [cache.join(&old), old_final.clone(), cache.join(&busy)] {
        age(&p, 30);
    }
    // Finished jobs a viewer just used count as in use: these were made a moment ago.
    let week = Some(Duration::from_secs(7 * 86_400));
    let kept = engine.cleanup(week, None, Duration::from_secs(3600)).unwrap();
    assert!(kept.deleted.is_empty(), "recently used jobs went: {:?}", kept.deleted);

    // Once nobody has used them for a while, old finished jobs go.
    std::thread::sleep(Duration::from_millis(300));
    let done = engine.cleanup(week, None, Duration::from_millis(200)).unwrap();
    let mut deleted = done.deleted.clone();
    deleted.sort();
    let mut want = vec![cache.join(&old), old_final.clone()];
    want.sort();
    assert_eq!(deleted, want, "only the old finished job goes; the running one stays");
    assert!(done.freed_bytes > 0);
    assert!(!old_final.exists() && !cache.join(&old).exists());
    assert!(new_done.final_path.unwrap().is_file() && cache.join(&busy).is_dir());
    assert_eq!(engine.status(&old).unwrap_err().code, ErrorCode::NotFound, "a deleted job is forgotten");
    assert_ne!(engine.status(&busy).unwrap().state, JobState::Cancelled);
    engine.cancel(&busy).unwrap();
}
