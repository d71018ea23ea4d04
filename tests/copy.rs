//! The fallback as a copy of the source: only when the request allows it and the source's
//! keyframes make a timeline; seeks and restarts on that timeline stay frame-exact; a restarted
//! engine cuts the same segments without reading the source again.

mod common;

use common::*;
use jellyscale::{Codec, Config, Engine, JobState, StreamRequest};
use std::path::Path;
use std::time::Duration;

/// A 20 s clip whose keyframes sit where the fixed timeline (1 s, then every 2 s) has none.
fn keyframed_clip(dir: &Path, name: &str) -> std::path::PathBuf {
    let keyframes = "0,1.25,3.5,5.75,8,10.25,12.5,14.75,17,19.25";
    clip(dir, name, 20.0, "320x180", &["-force_key_frames", keyframes, "-g", "1000", "-sc_threshold", "0"])
}

fn copying(src: &Path, codec: Codec) -> StreamRequest {
    StreamRequest { copy_fallback: true, ..request(src, codec) }
}

fn fallback(status: &jellyscale::JobStatus) -> &jellyscale::job::RungInfo {
    status.rungs.iter().find(|r| r.role == jellyscale::job::Role::Fallback).expect("a fallback rung")
}

#[test]
fn the_fallback_is_a_copy_only_when_asked_and_when_the_keyframes_allow_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let src = keyframed_clip(dir.path(), "keyframed.mp4");
    let copy = engine.start(copying(&src, Codec::H264)).unwrap();
    assert!(fallback(&copy).stream_copy, "{copy:?}");
    assert_eq!(copy.segment_count, 10, "cut at 1.25, 3.5, 5.75, ... 19.25: {copy:?}");
    let timeline = engine.job(&copy.job_id).unwrap().timeline().clone();
    assert_eq!(timeline.start(1), 1.25);

    // Not asked, or an HEVC output (the copy would be H.264 in MPEG-TS beside fMP4): the fixed
    // timeline, and an encoded fallback.
    for req in [request(&src, Codec::H264), copying(&src, Codec::Hevc)] {
        let st = engine.start(req).unwrap();
        assert_ne!(st.job_id, copy.job_id);
        assert!(!fallback(&st).stream_copy, "{st:?}");
        assert_eq!(st.segment_count, 11, "1 s, then 2 s segments over 20 s");
    }
    // Keyframes only every 10 s: no timeline with segments of at most 6 s.
    let sparse = clip(dir.path(), "sparse.mp4", 20.0, "320x180", &["-g", "240", "-sc_threshold", "0"]);
    let st = engine.start(copying(&sparse, Codec::H264)).unwrap();
    assert!(!fallback(&st).stream_copy && st.segment_count == 11, "{st:?}");
    // Not H.264 (MPEG-4 Part 2): encoded.
    let mpeg4 = clip(dir.path(), "mpeg4.mkv", 4.0, "320x180", &["-c:v", "mpeg4", "-g", "12"]);
    let st = engine.start(copying(&mpeg4, Codec::H264)).unwrap();
    assert!(!fallback(&st).stream_copy, "{st:?}");
    // Open GOPs (x264 open-gop, as Blu-ray remuxes have): the keyframes every 1.5 s have
    // leading pictures from the GOP before, so none is a clean cut.
    let open = clip(
        dir.path(),
        "open-gop.mp4",
        12.0,
        "320x180",
        &["-bf", "3", "-x264-params", "open-gop=1:keyint=36:min-keyint=36:scenecut=0"],
    );
    let st = engine.start(copying(&open, Codec::H264)).unwrap();
    assert!(!fallback(&st).stream_copy, "{st:?}");
    // Shown upside down (display matrix): MPEG-TS could not carry that, so no copy.
    let rotated = dir.path().join("rotated.mp4");
    rotated_copy(&src, &rotated, 180);
    let st = engine.start(copying(&rotated, Codec::H264)).unwrap();
    assert!(!fallback(&st).stream_copy, "{st:?}");
    for id in engine.list().iter().map(|s| s.job_id.clone()).collect::<Vec<_>>() {
        engine.cancel(&id).unwrap();
    }
}

#[test]
fn seeks_on_a_timeline_cut_at_keyframes_make_a_frame_exact_verified_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = keyframed_clip(dir.path(), "seek me.mp4");
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(StreamRequest { start_segment: Some(6), ..copying(&src, Codec::H264) }).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    // The viewer starts at segment 6, then seeks back to 2: three runs meet at cuts.
    engine.block_on(job.wait_segment(6, Duration::from_secs(60))).unwrap();
    engine.block_on(job.wait_segment(2, Duration::from_secs(60))).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let file = done.final_path.unwrap();
    assert_eq!(frame_count(&file), 480, "20 s at 24 fps, no frame lost or doubled where runs meet");
    let v = ffprobe_json(file.to_str().unwrap(), "stream=width,height");
    assert_eq!(v["streams"][0]["width"], 640);
}

#[test]
fn a_restarted_engine_cuts_the_same_segments_without_reading_the_source_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = keyframed_clip(dir.path(), "movie.mp4");
    let cfg = config(dir.path(), 2);
    let id = {
        let engine = Engine::new(Config { cpu_preset: "slow".into(), ..cfg.clone() }).unwrap();
        let st = engine.start(copying(&src, Codec::H264)).unwrap();
        let job = engine.job(&st.job_id).unwrap();
        engine.block_on(job.wait_segment(1, Duration::from_secs(120))).unwrap();
        st.job_id
    };
    let calls = dir.path().join("ffprobe-calls");
    let script = wrapped_ffprobe(dir.path(), &format!("echo \"$*\" >> '{}'", calls.display()));
    let engine = Engine::new(Config { ffprobe_path: Some(script), ..cfg }).unwrap();
    let st = engine.start(copying(&src, Codec::H264)).unwrap();
    assert_eq!(st.job_id, id, "the same timeline, so the same job");
    assert!(fallback(&st).stream_copy);
    let probed = std::fs::read_to_string(&calls).unwrap_or_default();
    assert!(!probed.contains("movie.mp4"), "read the source again: {probed}");
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert_eq!(frame_count(&done.final_path.unwrap()), 480);
}

#[test]
fn a_keyframe_read_over_its_budget_leaves_an_encoded_fallback_and_that_job_stays() {
    let dir = tempfile::tempdir().unwrap();
    let src = keyframed_clip(dir.path(), "slow disk.mp4");
    // The packet pass (only it asks for packets) takes 6 s; the start waits 1 s for it.
    let slow = wrapped_ffprobe(dir.path(), "case \"$*\" in *packet=*) sleep 6;; esac");
    let cfg = Config { ffprobe_path: Some(slow), keyframe_read_seconds: 1, ..config(dir.path(), 2) };
    let engine = Engine::new(cfg).unwrap();
    let started = std::time::Instant::now();
    let first = engine.start(copying(&src, Codec::H264)).unwrap();
    assert!(started.elapsed() < Duration::from_millis(4500), "waited {:?} for the read", started.elapsed());
    assert!(!fallback(&first).stream_copy && first.segment_count == 11, "{first:?}");
    // The read finished in the background: the index is there now, and the job stays.
    std::thread::sleep(Duration::from_secs(6));
    let again = engine.start(copying(&src, Codec::H264)).unwrap();
    assert_eq!(again.job_id, first.job_id);
    assert!(!fallback(&again).stream_copy);
    // Another profile of the same source has no job yet: it gets the copy at once.
    let other = engine.start(StreamRequest { scale: Some(3), ..copying(&src, Codec::H264) }).unwrap();
    assert!(fallback(&other).stream_copy && other.segment_count == 10, "{other:?}");
    let done = run_to_end(&engine, &first.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
}
