//! A request that describes its source (as the plugin does from Jellyfin's own probe) is planned
//! and encoding before ffprobe has answered; ffprobe still checks the description, and a job
//! planned from a wrong one fails, saying where the description and the file differ.

mod common;

use common::*;
use jellyscale::probe::MediaInfo;
use jellyscale::{Codec, Config, Engine, JobState, StreamRequest};
use std::path::Path;
use std::time::Duration;

/// A config whose ffprobe answers about `movie` files only after 5 s, then leaves `marker`.
fn slow_ffprobe_config(dir: &Path, marker: &Path) -> Config {
    let script = wrapped_ffprobe(dir, &format!("case \"$*\" in *movie*) sleep 5; touch '{}';; esac", marker.display()));
    Config { ffprobe_path: Some(script), ..config(dir, 2) }
}

fn probe(src: &Path) -> MediaInfo {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    engine.block_on(jellyscale::probe::probe(engine.ffprobe(), src)).unwrap()
}

fn saved(dir: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir.join("out")).map(|rd| rd.flatten().map(|e| e.file_name()).collect()).unwrap_or_default()
}

#[test]
fn a_described_source_serves_its_first_segment_before_ffprobe_answers() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 12.0, "320x180", &[]);
    let media = probe(&src);
    let marker = dir.path().join("ffprobe-answered");
    let engine = Engine::new(slow_ffprobe_config(dir.path(), &marker)).unwrap();

    let st = engine.start(StreamRequest { media: Some(media), ..request(&src, Codec::H264) }).unwrap();
    assert_eq!((st.width, st.height), (640, 360));
    let job = engine.job(&st.job_id).unwrap();
    let first = engine.block_on(job.wait_segment(0, Duration::from_secs(60))).unwrap();
    assert!(first.data.length > 0);
    assert!(!marker.exists(), "segment 0 was served before ffprobe answered");

    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert!(marker.exists(), "ffprobe still checked the description");
    assert_eq!(saved(dir.path()).len(), 1);
}

#[test]
fn a_job_planned_from_a_wrong_description_fails_and_the_next_request_plans_from_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 30.0, "320x180", &[]);
    let wrong = MediaInfo { width: 640, height: 360, ..probe(&src) };
    let engine = Engine::new(config(dir.path(), 2)).unwrap();

    let st = engine.start(StreamRequest { media: Some(wrong), ..request(&src, Codec::H264) }).unwrap();
    assert_eq!((st.width, st.height), (1280, 720), "planned from the description");
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Failed);
    let error = done.error.unwrap();
    assert_eq!(error.code, jellyscale::ErrorCode::BadInput);
    assert_eq!(error.message, "the request's media does not match the file: size 640x360 (ffprobe: 320x180)");
    assert!(saved(dir.path()).is_empty(), "{:?}", saved(dir.path()));

    let again = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!((again.width, again.height), (640, 360), "planned from ffprobe's cached answer");
    assert_eq!(run_to_end(&engine, &again.job_id).state, JobState::Done);
}

#[test]
fn a_described_file_that_is_no_video_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 2.0, "320x180", &[]);
    let media = probe(&src);
    let fake = dir.path().join("notes movie.mp4");
    std::fs::write(&fake, "not a video at all\n".repeat(100)).unwrap();
    let engine = Engine::new(config(dir.path(), 2)).unwrap();

    let st = engine.start(StreamRequest { media: Some(media), ..request(&fake, Codec::H264) }).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Failed);
    let error = done.error.unwrap();
    assert!(
        matches!(error.code, jellyscale::ErrorCode::BadInput | jellyscale::ErrorCode::Ffmpeg),
        "ffprobe or ffmpeg says why: {error:?}"
    );
    assert!(!error.message.is_empty());
    assert!(saved(dir.path()).is_empty());
}

#[test]
fn a_description_claiming_years_is_refused_before_any_timeline_or_playlist_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 2.0, "160x90", &[]);
    // Jellyfin's probe believed a damaged header: 1e8 s.
    let lying = MediaInfo { duration: 1e8, ..probe(&src) };
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let e = engine.start(StreamRequest { media: Some(lying), ..request(&src, Codec::H264) }).unwrap_err();
    assert_eq!(e.code, jellyscale::ErrorCode::BadInput);
    assert!(e.message.contains("claims to last 100000000 s"), "{}", e.message);
}
