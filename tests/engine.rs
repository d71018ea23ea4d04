//! The engine end to end on generated clips with the real ffmpeg.

mod common;

use common::*;
use jellyscale::{Codec, Engine, ErrorCode, JobState, StreamRequest};
use std::path::Path;
use std::time::Duration;

fn upscale_and_verify(codec: Codec, codec_name: &str, tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "source clip.mp4", 20.0, "320x180", &[]);
    let engine = Engine::new(config(dir.path(), 4)).unwrap();
    let st = engine.start(request(&src, codec)).unwrap();
    assert_eq!((st.width, st.height, st.segment_count), (640, 360, 6), "a 1 s first segment, then 4 s ones");

    let playlist = engine.playlist(&st.job_id, "api_key=x").unwrap();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"));
    let listed: f64 = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!((listed - 20.0).abs() < 0.05, "playlist covers {listed}s");
    assert_eq!(playlist.matches("?api_key=x").count(), 6 + usize::from(codec == Codec::Hevc));

    // Every listed segment is served while the job runs (or from the final file after).
    for k in 0..st.segment_count {
        let info = engine.block_on(engine.wait_segment(&st.job_id, k, Duration::from_secs(120))).unwrap();
        assert!(info.data.length > 0, "segment {k} empty");
    }
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let final_path = done.final_path.unwrap();
    assert!(final_path.is_file());
    let probe =
        ffprobe_json(final_path.to_str().unwrap(), "stream=codec_name,codec_tag_string,width,height:format=duration");
    let v = &probe["streams"].as_array().unwrap().iter().find(|s| s["width"].is_number()).unwrap();
    assert_eq!(v["codec_name"], codec_name);
    assert_eq!(v["codec_tag_string"], tag);
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(640), Some(360)));
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - 20.0).abs() < 0.5, "final duration {duration}");

    // Segments are freed; the finished job still serves every segment from the final file.
    let job_dir = dir.path().join("cache").join(&st.job_id);
    assert!(!std::fs::read_dir(&job_dir)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("seg_")));
    let last = engine.block_on(engine.wait_segment(&st.job_id, 5, Duration::from_secs(1))).unwrap();
    assert_eq!(last.data.path, final_path);
}

#[test]
fn h264_upscale_serves_every_segment_and_saves_a_verified_file() {
    upscale_and_verify(Codec::H264, "h264", "[27][0][0][0]");
}

#[test]
fn hevc_upscale_is_fmp4_hvc1_and_verified() {
    upscale_and_verify(Codec::Hevc, "hevc", "hvc1");
}

#[test]
fn two_starts_of_the_same_thing_share_one_job_and_a_finished_file_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "a.mp4", 6.0, "320x180", &[]);
    let cfg = config(dir.path(), 2);
    let id = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let ids: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> =
                (0..4).map(|_| s.spawn(|| engine.start(request(&src, Codec::H264)).unwrap().job_id)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        assert_eq!(engine.list().len(), 1);
        assert_eq!(run_to_end(&engine, &ids[0]).state, JobState::Done);
        ids[0].clone()
    };
    // A new engine on the same cache finds the finished file at once.
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!(st.job_id, id);
    assert_eq!(st.state, JobState::Done);
    assert!(st.final_path.unwrap().is_file());
}

/// A slow job on a 60 s clip that has written its first segment, with its one ffmpeg's pid.
fn long_job_under_way(dir: &Path) -> (Engine, jellyscale::JobStatus, u32) {
    let src = clip(dir, "long.mp4", 60.0, "320x180", &[]);
    let mut cfg = config(dir, 2);
    cfg.cpu_preset = "slow".into();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    engine.block_on(engine.wait_segment(&st.job_id, 0, Duration::from_secs(60))).unwrap();
    let pids = ffmpeg_children(std::process::id(), dir);
    assert_eq!(pids.len(), 1, "one ffmpeg encodes");
    (engine, st, pids[0])
}

#[test]
fn cancel_mid_job_kills_ffmpeg_and_leaves_no_final_file() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, st, _) = long_job_under_way(dir.path());
    engine.cancel(&st.job_id).unwrap();
    engine.cancel(&st.job_id).unwrap();
    let end = run_to_end(&engine, &st.job_id);
    assert_eq!(end.state, JobState::Cancelled);
    assert!(end.final_path.is_none());
    assert!(ffmpeg_children(std::process::id(), dir.path()).is_empty(), "ffmpeg left running");
    let out = dir.path().join("out");
    assert_eq!(std::fs::read_dir(out).unwrap().count(), 0, "no final or partial file");
}

#[test]
fn dropping_the_engine_stops_its_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _, encoder) = long_job_under_way(dir.path());
    drop(engine);
    assert!(!alive(encoder), "ffmpeg outlived the engine");
}

#[test]
fn odd_file_names_work() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "-lead 'quote' \"dq\" $(touch x) ünïcødé: colon.mp4", 3.0, "160x90", &[]);
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert!(!dir.path().join("x").exists(), "nothing was run through a shell");
}

#[test]
fn bad_inputs_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let start = |p: &Path| engine.start(request(p, Codec::H264));

    let text = dir.path().join("notes.mkv");
    std::fs::write(&text, "just some text, not a video\n").unwrap();
    let e = start(&text).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadInput, "{e:?}");

    let e = start(&dir.path().join("missing.mkv")).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadInput);
    assert!(e.message.contains("not found"), "{}", e.message);

    let e = start(dir.path()).unwrap_err();
    assert!(e.message.contains("directory"), "{}", e.message);

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(start(&empty).unwrap_err().code, ErrorCode::BadInput);

    // An mp4 cut in half loses its index (moov at the end): unreadable.
    let whole = clip(dir.path(), "whole.mp4", 4.0, "160x90", &[]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(start(&cut).unwrap_err().code, ErrorCode::BadInput);

    let big = clip(dir.path(), "big.mp4", 1.0, "640x360", &[]);
    let e = engine.start(StreamRequest { max_height: Some(360), ..request(&big, Codec::H264) }).unwrap_err();
    assert!(e.message.contains("nothing to upscale"), "{}", e.message);
}

#[test]
fn a_truncated_stream_fails_with_a_clear_error_not_a_wrong_file() {
    let dir = tempfile::tempdir().unwrap();
    // Matroska declares its duration up front; cutting the tail loses the last seconds.
    let whole = clip(dir.path(), "whole.mkv", 12.0, "160x90", &[]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    match engine.start(request(&cut, Codec::H264)) {
        Err(e) => assert_eq!(e.code, ErrorCode::BadInput),
        Ok(st) => {
            let end = run_to_end(&engine, &st.job_id);
            assert_eq!(end.state, JobState::Failed);
            let e = end.error.unwrap();
            assert_eq!(e.code, ErrorCode::BadInput, "{e:?}");
            assert!(e.message.contains("ends early"), "{}", e.message);
            assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
        }
    }
}

#[test]
fn a_far_request_restarts_the_encoder_there_and_the_final_file_is_continuous() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "sixty.mp4", 60.0, "320x180", &[]);
    let mut cfg = config(dir.path(), 4);
    cfg.cpu_preset = "veryfast".into();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let job = engine.job(&st.job_id).unwrap();
    engine.block_on(job.wait_segment(0, Duration::from_secs(60))).unwrap();
    // 40 s is far beyond the frontier: the encoder jumps there rather than encode linearly.
    engine.block_on(job.wait_segment(10, Duration::from_secs(60))).unwrap();
    let st = job.status();
    // (The seek gives up the last segment the first run made, whose audio tail the killed run
    // never wrote; the gap is made again later.)
    let covers_20s = st.ready_ranges.iter().any(|r| r[0] <= 5 && 5 <= r[1]);
    assert!(!covers_20s || st.segments_ready == st.segment_count, "{:?}", st.ready_ranges);
    engine.block_on(job.wait_segment(3, Duration::from_secs(60))).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let f = done.final_path.unwrap();
    let frames = frame_count(&f);
    assert_eq!(frames, 60 * 24, "no frame lost or duplicated across runs");
}
