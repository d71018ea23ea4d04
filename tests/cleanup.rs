//! Cleanup by age and size: finished files and job folders go oldest first, jobs at work stay,
//! and a deleted job is forgotten (its id is no longer found). Litter goes by itself: what a
//! killed save left in the output folder, and the finished file and folder of a source that
//! changed since (touched, or replaced by a media manager).

mod common;

use common::*;
use jellyscale::{Codec, Engine, ErrorCode, JobState};
use std::path::Path;
use std::time::Duration;

/// Sets the modification time of `path` and everything under it `days` into the past. A
/// running job renames its files meanwhile: one gone before it is reached is no failure.
fn age(path: &Path, days: u32) {
    let when = std::time::SystemTime::now() - Duration::from_secs(u64::from(days) * 86_400);
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            age(&e.path(), days);
        }
    }
    match std::fs::File::open(path).and_then(|f| f.set_modified(when)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("aging {}: {e}", path.display()),
        _ => {}
    }
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

#[test]
fn what_a_killed_save_left_goes_when_the_engine_starts_or_the_job_saves_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::media::matroska_ms(dir.path(), "film.mkv", 4, "160x90");
    let cfg = config(dir.path(), 2);
    let out = cfg.output_dir.clone().unwrap();
    let final_name = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        let done = run_to_end(&engine, &st.job_id);
        assert_eq!(done.state, JobState::Done, "{:?}", done.error);
        let path = done.final_path.unwrap();
        std::fs::remove_file(&path).unwrap();
        path.file_name().unwrap().to_string_lossy().into_owned()
    };
    // Saves killed before their rename: this job's, another's long dead, another's going on.
    let own = out.join(format!(".{final_name}.00112233aabbccdd.partial"));
    let dead = out.join(".Other - Upscaled 720p h264 [0badf00d].ts.ffeeddccbbaa9988.partial");
    let live = out.join(".Third - Upscaled 720p h264 [12345678].ts.0123456789abcdef.partial");
    let theirs = out.join("notes.partial");
    for f in [&own, &dead, &live, &theirs] {
        std::fs::write(f, b"half a file").unwrap();
    }
    age(&dead, 1);
    let engine = Engine::new(cfg).unwrap();
    assert!(!dead.exists(), "a temp file nobody wrote for a day stays");
    assert!(live.exists() && theirs.exists(), "a live save's temp file or someone else's file went");
    // The job saves again (its file was lost): its own leftover goes.
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert!(!own.exists(), "the job's own leftover stays beside its saved file");
    assert!(live.exists() && theirs.exists());
}

#[test]
fn a_touched_or_replaced_source_leaves_no_superseded_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::media::matroska_ms(dir.path(), "film.mkv", 4, "160x90");
    let other = common::media::matroska_ms(dir.path(), "other.mkv", 4, "160x90");
    let cfg = config(dir.path(), 2);
    // A file saved, then its source touched while no engine ran: the next engine's look at
    // its cache removes the file and folder, which nothing can ask for again.
    let (gone_id, gone) = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        let done = run_to_end(&engine, &st.job_id);
        (st.job_id, done.final_path.unwrap())
    };
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    std::fs::File::open(&src).unwrap().set_modified(later).unwrap();
    let engine = Engine::new(cfg.clone()).unwrap();
    assert!(!gone.exists(), "the file of a source touched while the engine was away stayed");
    assert!(!cfg.cache_dir.join(&gone_id).exists());
    let finish = |input: &Path| {
        let st = engine.start(request(input, Codec::H264)).unwrap();
        let done = run_to_end(&engine, &st.job_id);
        assert_eq!(done.state, JobState::Done, "{:?}", done.error);
        (st.job_id, done.final_path.unwrap())
    };
    let (first_id, first) = finish(&src);
    let (other_id, other_file) = finish(&other);
    // Touched (a tag editor, a re-mux in place): a new job; the old file can never be asked for.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::open(&src).unwrap().set_modified(later).unwrap();
    let (second_id, second) = finish(&src);
    assert_ne!(second_id, first_id);
    assert!(!first.exists(), "the superseded file {} stayed", first.display());
    assert!(!cfg.cache_dir.join(&first_id).exists(), "the superseded job folder stayed");
    assert_eq!(engine.status(&first_id).unwrap_err().code, ErrorCode::NotFound, "the superseded job is forgotten");
    // Replaced by a media manager (a new file renamed over it).
    let upgrade = common::media::matroska_ms(dir.path(), "upgrade.mkv", 5, "160x90");
    std::fs::rename(&upgrade, &src).unwrap();
    let (_, third) = finish(&src);
    assert!(!second.exists(), "the file of the replaced source stayed");
    assert!(third.exists());
    // Another source's file is its own.
    assert!(other_file.exists() && cfg.cache_dir.join(&other_id).exists());
    // The sweep took nothing of the new job's.
    assert_same_frames(&src, &third);
}
