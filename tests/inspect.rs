//! The final file's verification reads the segments' own bytes. On real ffmpeg HLS output it
//! finds what ffprobe finds (codec, displayed size) and each segment at its boundary; a
//! misplaced, missing or cut segment fails it, and a job whose segment was replaced on disk saves
//! no file.

mod common;

use common::*;
use jellyscale::inspect::{Expect, Inspection, Inspector};
use jellyscale::timeline::Container;
use jellyscale::timeline::Timeline;
use jellyscale::{Codec, Engine, JobState};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// 5 s at 24 fps in 2 s segments: 0-2, 2-4, 4-5.
const TIMELINE: Timeline = Timeline { duration: 5.0, segment_seconds: 2, first_seconds: 2, fps: 24.0, cuts: None };

/// Encodes a 5 s pattern to HLS with ffmpeg itself; returns the pieces of the final file in
/// order (the init section first for fMP4).
fn hls(dir: &Path, size: &str, container: Container, encode: &[&str]) -> Vec<PathBuf> {
    let (kind, ext) = match container {
        Container::Ts => ("mpegts", "ts"),
        Container::Mp4 => ("fmp4", "m4s"),
    };
    let status = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=24"))
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "5"])
        .args(encode)
        .args(["-c:a", "aac", "-force_key_frames", "expr:gte(t,n_forced*2)", "-f", "hls", "-hls_time", "2"])
        .args(["-hls_playlist_type", "vod", "-hls_segment_type", kind, "-hls_fmp4_init_filename", "init.mp4"])
        .arg("-hls_segment_filename")
        .arg(dir.join(format!("seg_%d.{ext}")))
        .arg(dir.join("index.m3u8"))
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg could not encode {encode:?}");
    let mut pieces: Vec<PathBuf> = if container == Container::Mp4 { vec![dir.join("init.mp4")] } else { vec![] };
    pieces.extend((0..3).map(|k| dir.join(format!("seg_{k}.{ext}"))));
    pieces
}

/// What the job would expect of these test segments (their frames unknown, or `frames`).
fn expect(container: Container, frames: Option<&[f64]>) -> Expect<'_> {
    Expect { timeline: &TIMELINE, frames, audio: true, presentation_times: container == Container::Ts }
}

/// Feeds the pieces in small uneven chunks, as a slow disk might hand them over.
fn inspect(container: Container, pieces: &[Vec<u8>]) -> Result<Inspection, String> {
    let mut inspector = Inspector::new(container);
    for piece in pieces {
        for chunk in piece.chunks(1009) {
            inspector.feed(chunk)?;
        }
        inspector.end_piece()?;
    }
    inspector.finish()
}

fn read_all(pieces: &[PathBuf]) -> Vec<Vec<u8>> {
    pieces.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// What ffprobe says the concatenated pieces hold: codec name, width, height.
fn ffprobe_video(dir: &Path, pieces: &[Vec<u8>], ext: &str) -> (String, u32, u32) {
    let whole = dir.join(format!("whole.{ext}"));
    std::fs::write(&whole, pieces.concat()).unwrap();
    let v = ffprobe_json(whole.to_str().unwrap(), "stream=codec_name,width,height");
    let s = v["streams"].as_array().unwrap().iter().find(|s| s["width"].is_u64()).expect("a video stream").clone();
    (
        s["codec_name"].as_str().unwrap().to_owned(),
        s["width"].as_u64().unwrap() as u32,
        s["height"].as_u64().unwrap() as u32,
    )
}

#[test]
fn inspection_agrees_with_ffprobe_on_real_hls_output() {
    let cases: &[(&str, Container, &[&str])] = &[
        // Constrained Baseline, cropped width (27 macroblocks for 426).
        ("426x240", Container::Ts, &["-c:v", "libx264", "-preset", "ultrafast"]),
        // High with B-frames, 4:2:0 cropped height (1080 in 68 macroblock rows).
        ("1920x1080", Container::Ts, &["-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-profile:v", "high"]),
        // High 10.
        ("640x360", Container::Ts, &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le"]),
        // High 4:4:4 Predictive: chroma_format_idc 3 and a one-pixel crop unit.
        ("322x182", Container::Ts, &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"]),
        // Field-coded (frame_mbs_only_flag 0): heights count in field macroblock pairs.
        (
            "720x576",
            Container::Ts,
            &["-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264opts", "interlaced=1"],
        ),
        // HEVC in MPEG-TS and in fMP4 (8 and 10 bit), widths needing a conformance window. Its
        // forced keyframes are IDR, as the engine's are (ffmpeg 7.1 and 9.0 force an open-GOP
        // CRA otherwise, whose leading frames fall into the segment after it: 45 and 51 frames).
        (
            "854x480",
            Container::Ts,
            &["-c:v", "libx265", "-preset", "ultrafast", "-forced-idr", "1", "-x265-params", "log-level=error"],
        ),
        (
            "854x480",
            Container::Mp4,
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-forced-idr",
                "1",
                "-tag:v",
                "hvc1",
                "-x265-params",
                "log-level=error",
            ],
        ),
        (
            "640x360",
            Container::Mp4,
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-forced-idr",
                "1",
                "-pix_fmt",
                "yuv420p10le",
                "-x265-params",
                "log-level=error",
            ],
        ),
        // H.264 in fMP4.
        ("426x240", Container::Mp4, &["-c:v", "libx264", "-preset", "ultrafast"]),
    ];
    for (i, (size, container, encode)) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let pieces = read_all(&hls(dir.path(), size, *container, encode));
        let ext = if *container == Container::Ts { "ts" } else { "mp4" };
        let (codec, width, height) = ffprobe_video(dir.path(), &pieces, ext);
        let what = format!("case {i}: {size} {encode:?}");
        let got = inspect(*container, &pieces).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((got.video.codec, got.video.width, got.video.height), (codec.as_str(), width, height), "{what}");
        assert_eq!(format!("{width}x{height}"), *size, "{what}: ffprobe itself");
        let bad = got.check(&expect(*container, None), &codec, width, height).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(bad.is_empty(), "{what}: {bad:?}");
        let pieces: Vec<_> = got.pieces.iter().flatten().collect();
        let origin = pieces[0].first;
        for (k, p) in pieces.iter().enumerate() {
            let start = p.first - origin;
            assert!((start - 2.0 * k as f64).abs() < 0.05, "{what}: segment {k} starts at {start}");
            assert_eq!(p.frames, if k < 2 { 48 } else { 24 }, "{what}: segment {k}'s frames");
            assert!(p.audio.is_some() && p.self_contained, "{what}: segment {k}: {p:?}");
        }
        let end = pieces.last().unwrap().end - origin;
        assert!((end - 5.0).abs() < 0.1, "{what}: ends at {end}");
    }
}

#[test]
fn misplaced_missing_or_cut_segments_fail_the_check() {
    for container in [Container::Ts, Container::Mp4] {
        let dir = tempfile::tempdir().unwrap();
        let pieces = read_all(&hls(dir.path(), "320x180", container, &["-c:v", "libx264", "-preset", "ultrafast"]));
        let ok =
            |p: &[Vec<u8>]| inspect(container, p).and_then(|i| i.check(&expect(container, None), "h264", 320, 180));
        assert_eq!(ok(&pieces), Ok(vec![]), "{container:?}: the file as written");

        let n = pieces.len();
        let mut swapped = pieces.clone();
        swapped.swap(n - 2, n - 3);
        let bad = ok(&swapped).unwrap();
        assert!(
            bad.iter().any(|(k, why)| *k == 0 && why.contains("segment 0 starts at 2.0")),
            "{container:?}: {bad:?}"
        );

        let err = ok(&pieces[..n - 1]).unwrap_err();
        assert!(err.contains("2 segments with video instead of 3"), "{container:?}: {err}");

        let mut cut = pieces.clone();
        cut[n - 2].truncate(1000);
        let err = ok(&cut).unwrap_err();
        assert!(err.contains(&format!("piece {}: it ends inside", n - 2)), "{container:?}: {err}");

        let err = inspect(container, &pieces).unwrap().check(&expect(container, None), "h264", 640, 360).unwrap_err();
        assert_eq!(err, "size 320x180 instead of 640x360");
        let err = inspect(container, &pieces).unwrap().check(&expect(container, None), "hevc", 320, 180).unwrap_err();
        assert_eq!(err, "codec h264 instead of hevc");

        // With the source's frames the verifier sees one missing frame.
        let frames: Vec<f64> = (0..120).map(|n| n as f64 / 24.0).collect();
        let exact = |p: &[Vec<u8>], f: &[f64]| {
            inspect(container, p).and_then(|i| i.check(&expect(container, Some(f)), "h264", 320, 180))
        };
        assert_eq!(exact(&pieces, &frames), Ok(vec![]), "{container:?}: every frame where the source has it");
        let mut one_more = frames.clone();
        one_more.insert(50, 50.5 / 24.0);
        let bad = exact(&pieces, &one_more).unwrap();
        assert!(
            bad.iter().any(|(k, why)| *k == 1 && why.contains("48 frames instead of 49")),
            "{container:?}: {bad:?}"
        );
    }
}

#[test]
fn a_segment_replaced_on_disk_is_made_again_and_the_saved_file_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "movie.mp4", 30.0, "320x180", &[]);
    let cfg = config(dir.path(), 2);
    let out = cfg.output_dir.clone().unwrap();

    // A first engine encodes a few segments and stops (its outputs stay on disk, but for the
    // last one, which a stopped run gives up).
    let job_dir = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        let job_dir = cfg.cache_dir.join(&st.job_id);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !job_dir.join("seg_00003.ts").exists() {
            assert!(Instant::now() < deadline, "no segments appeared");
            std::thread::sleep(Duration::from_millis(20));
        }
        job_dir
    };
    // Segment 1 now holds segment 2's frames: the right size, codec and length, the wrong place.
    std::fs::copy(job_dir.join("seg_00002.ts"), job_dir.join("seg_00001.ts")).unwrap();

    // The next engine does not trust it: segment 1 is discarded, made again, and the saved
    // file holds exactly the source's frames.
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let saved = done.final_path.unwrap();
    assert_eq!(saved.parent(), Some(out.as_path()));
    assert_eq!(frame_times(&saved).len(), frame_times(&src).len(), "every source frame, once");
}

#[test]
fn a_source_whose_video_starts_after_its_audio_saves_a_verified_file() {
    // Video 0.3 s behind the audio, as in recordings that start on a keyframe: the job's
    // segments still start at their boundaries, and the saved file verifies.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("late video.mkv");
    let status = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-itsoffset", "0.3", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x180:rate=24")
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    let starts = ffprobe_json(src.to_str().unwrap(), "stream=codec_type,start_time");
    let video_start: f64 = starts["streams"][0]["start_time"].as_str().unwrap().parse().unwrap();
    assert!(video_start > 0.2, "the clip's video starts late: {starts}");

    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
}
