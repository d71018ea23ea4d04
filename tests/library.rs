//! Sources as real libraries hold them come out as complete, better-looking copies: DVD rips
//! deinterlaced and in square pixels at their display aspect.

mod common;

use common::media::dvd_vob;
use common::*;
use jellyscale::{Codec, Engine, JobState, StreamRequest};
use std::process::Command;

/// What ffmpeg's `idet` filter finds in `file`'s video: (top field first, bottom field first,
/// progressive) frames, by its multi-frame detection. On the upscale it checks the flags and
/// the lines the encoder was given, not combing scaled by 1.5 (which no longer lies on
/// alternate lines: the filter chain itself is pinned by the argv snapshot).
fn idet(file: &std::path::Path) -> (u32, u32, u32) {
    let out = Command::new(ffmpeg())
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(file)
        .args(["-an", "-vf", "idet", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    // The last summary: ffmpeg 9.0 prints an empty one first, from a graph it configured twice.
    let line = text.lines().rfind(|l| l.contains("Multi frame detection")).expect("idet's summary");
    let count = |key: &str| {
        let rest = &line[line.find(key).expect(key) + key.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    (count("TFF:"), count("BFF:"), count("Progressive:"))
}

#[test]
fn a_dvd_is_saved_progressive_in_square_pixels_at_its_display_aspect_with_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = dvd_vob(dir.path(), "Film (1999).vob", 6);
    let (src_tff, _, src_progressive) = idet(&src);
    assert!(
        src_tff > 150 && src_progressive == 0,
        "an interlaced source: TFF {src_tff}, progressive {src_progressive}"
    );

    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(StreamRequest { max_height: Some(720), ..request(&src, Codec::H264) }).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let saved = done.final_path.unwrap();

    let v = ffprobe_json(saved.to_str().unwrap(), "stream=width,height,sample_aspect_ratio,field_order");
    let v = v["streams"].as_array().unwrap().iter().find(|s| s["width"].is_u64()).expect("a video stream").clone();
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(1280), Some(720)), "16:9 at 720 lines: {v}");
    assert!(matches!(v["sample_aspect_ratio"].as_str(), None | Some("1:1")), "square pixels: {v}");
    assert!(matches!(v["field_order"].as_str(), None | Some("progressive")), "flagged progressive: {v}");
    let (tff, bff, progressive) = idet(&saved);
    eprintln!("idet: source TFF {src_tff}; saved TFF {tff} BFF {bff} progressive {progressive}");
    assert!(progressive > 10 * (tff + bff), "no combing left: TFF {tff}, BFF {bff}, progressive {progressive}");
    assert_same_frames(&src, &saved);
    assert_eq!(decode_errors(&saved), "", "the saved file decodes cleanly");
}

#[test]
fn a_long_title_is_saved_under_a_shortened_name_that_keeps_the_job_id() {
    let dir = tempfile::tempdir().unwrap();
    // 71 CJK characters: 213 bytes of UTF-8, over the limit once " - Upscaled ..." is added.
    let title = "長い題名の映画".repeat(10) + "完";
    let src = common::media::matroska_ms(dir.path(), &format!("{title}.mkv"), 2, "160x90");
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let saved = done.final_path.unwrap();
    let name = saved.file_name().unwrap().to_str().expect("still UTF-8").to_owned();
    assert!(name.len() <= 229, "room for its temp name: {} bytes", name.len());
    assert!(name.starts_with("長い題名") && name.contains(&st.job_id[..8]), "{name}");
    assert_eq!(frame_count(&saved), frame_count(&src));
}

#[test]
fn an_output_folder_that_takes_no_files_is_refused_before_any_encode() {
    let dir = tempfile::tempdir().unwrap();
    // A folder that exists but where nobody, root included, can create a file.
    let cfg = jellyscale::Config { output_dir: Some("/proc/1".into()), ..config(dir.path(), 2) };
    let e = Engine::new(cfg).err().expect("refused");
    assert!(e.message.contains("the folder /proc/1 takes no new files"), "{}", e.message);
}

#[test]
fn audio_that_runs_on_past_the_video_is_no_early_end() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("concert.mkv");
    let ok = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=10"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=20"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .arg(&src)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    // A 1 s first segment, then 2 s ones: 1 + 2 + 2 + 2 + 2 + 1.
    assert_eq!(st.segment_count, 6, "segments over the 10 s of video, not the 20 s of audio");
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert_same_frames(&src, &done.final_path.unwrap());
}
