//! The saved file holds exactly the source's frames and continuous audio, whatever sequence of
//! runs made it, on sources shaped like library files: Matroska with millisecond timestamps and
//! 44.1 kHz AAC, MPEG-TS starting at 10 s at 29.97 fps, variable frame rate MP4. Every saved
//! file is compared frame by frame with its source and decoded with zero errors.

mod common;

use common::media::{matroska_ms, ts_with_offset, vfr_mp4};
use common::*;
use jellyscale::{Codec, Config, Engine, JobState};
use std::path::Path;
use std::time::Duration;

/// Upscales `src`, asking first for the segments in `order` (each a seek where it is far from
/// the encoder), then runs the job to its end; checks the saved file against the source.
fn seek_then_finish(dir: &Path, src: &Path, codec: Codec, order: &[u32]) {
    seek_then_finish_with(dir, src, codec, order, Config::default().ffprobe_path);
}

/// [`seek_then_finish`] with the given ffprobe.
fn seek_then_finish_with(
    dir: &Path,
    src: &Path,
    codec: Codec,
    order: &[u32],
    ffprobe_path: Option<std::path::PathBuf>,
) {
    // The default preset, whose look-ahead and reference frames are those users get.
    let engine = Engine::new(Config { cpu_preset: "veryfast".into(), ffprobe_path, ..config(dir, 4) }).unwrap();
    let st = engine.start(request(src, codec)).unwrap();
    for &k in order {
        let k = k.min(st.segment_count - 1);
        engine.block_on(engine.wait_segment(&st.job_id, k, Duration::from_secs(180))).unwrap();
    }
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let saved = done.final_path.unwrap();
    assert_same_frames(src, &saved);
    assert_eq!(decode_errors(&saved), "", "the saved file decodes cleanly");
    let (source_audio, saved_audio) = (audio_times(src), audio_times(&saved));
    assert_eq!(saved_audio.len(), source_audio.len(), "every source audio packet, once (copied)");
    let rate = if src.extension().is_some_and(|e| e == "ts") { 48_000.0 } else { 44_100.0 };
    assert_continuous_audio(&saved, rate);
}

#[test]
fn a_matroska_source_seeked_into_saves_every_frame_and_every_audio_packet() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 40, "160x90");
    // Segment 7 (25 s) first, as a viewer resuming there; the start is filled in behind.
    seek_then_finish(dir.path(), &src, Codec::H264, &[7]);
}

#[test]
fn an_mpeg_ts_recording_with_a_start_offset_seeked_into_saves_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = ts_with_offset(dir.path(), "recording.ts", 30, "160x90");
    // The whole scan of the frames (a long film's) is still being read when the seek's run
    // starts, and done when the run filling in behind it starts: the two must still meet.
    let slow_scan = wrapped_ffprobe(dir.path(), r#"case "$*" in *size,flags*) sleep 1;; esac"#);
    seek_then_finish_with(dir.path(), &src, Codec::H264, &[5, 1], Some(slow_scan));
}

#[test]
fn a_variable_frame_rate_source_keeps_every_frame_at_its_own_time() {
    let dir = tempfile::tempdir().unwrap();
    let src = vfr_mp4(dir.path(), "phone.mp4", 30, "160x90");
    seek_then_finish(dir.path(), &src, Codec::H264, &[4]);
}

#[test]
fn hevc_seeked_into_decodes_behind_one_init_section() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 20, "160x90");
    seek_then_finish(dir.path(), &src, Codec::Hevc, &[3]);
}

#[test]
fn random_seek_sequences_save_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 30, "160x90");
    for seed in [7u64, 1234] {
        let mut x = seed;
        let order: Vec<u32> = (0..4).map(|_| (xorshift(&mut x) % 8) as u32).collect();
        eprintln!("seed {seed}: segments asked for in the order {order:?}");
        let run = tempfile::tempdir().unwrap();
        seek_then_finish(run.path(), &src, Codec::H264, &order);
    }
}

/// A run that starts before the whole scan of the source is read (a seek right after Play)
/// cuts on frames read near its boundaries: they must be the very times the scan gives, or
/// that run and a later one meet on different sides of an audio packet.
#[test]
fn frames_read_near_a_cut_are_the_scans_own() {
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        ts_with_offset(dir.path(), "recording.ts", 20, "160x90"),
        matroska_ms(dir.path(), "film.mkv", 20, "160x90"),
        vfr_mp4(dir.path(), "phone.mp4", 20, "160x90"),
    ];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ffprobe = Path::new("ffprobe");
    for src in &sources {
        let media = rt.block_on(jellyscale::probe::probe(ffprobe, src)).unwrap();
        let all = rt.block_on(jellyscale::keyframes::scan(ffprobe, src)).unwrap().frames;
        let boundaries = [1.0, 5.0, 9.0, 13.0, 17.0];
        let near =
            rt.block_on(jellyscale::keyframes::frames_near(ffprobe, src, media.start_time, &boundaries)).unwrap();
        for b in boundaries {
            let first_at = |f: &[f64]| f.iter().copied().find(|&x| x >= b - 1e-7);
            assert_eq!(first_at(&near), first_at(&all), "{}: the first frame at or after {b} s", src.display());
        }
    }
}
