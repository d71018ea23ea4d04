//! A corpus of awkward and broken media, generated here with ffmpeg and a few hand-made bytes.
//! Each one either upscales to a verified file with the right size, codec and timing, or fails
//! with a clear typed error, within a bounded time: never a hang, a panic or a wrong file.

mod common;

use common::*;
use jellyscale::{Codec, Engine, ErrorCode, JobState, StreamRequest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

enum Expect {
    /// Upscaled to this size.
    Upscaled(u32, u32),
    /// Refused with this code, the message containing this text.
    Refused(ErrorCode, &'static str),
}

fn ffmpeg_make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "could not generate {name}");
    path
}

const V: [&str; 4] = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24"];
const A: [&str; 4] = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];

fn with(parts: &[&[&str]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().map(|s| s.to_string())).collect()
}

fn make(dir: &Path, name: &str, parts: &[&[&str]]) -> PathBuf {
    let args = with(parts);
    ffmpeg_make(dir, name, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Patches the Matroska Duration (EBML id 0x4489, 8-byte float, in ms) to three hours.
fn declare_three_hours(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(3).position(|w| w == [0x44, 0x89, 0x88]).expect("duration element");
    bytes[at + 3..at + 11].copy_from_slice(&(3.0 * 3600.0 * 1000.0f64).to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// Makes the streams' DURATION tags (`HH:MM:SS.nnnnnnnnn`, written by ffmpeg's Matroska
/// muxer) of a file that lasts 2 s claim `hms` instead.
fn claim_tag_duration(path: &Path, hms: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let mut patched = 0;
    while let Some(at) = bytes.windows(9).position(|w| w == b"00:00:02.") {
        bytes[at..at + 8].copy_from_slice(hms.as_bytes());
        patched += 1;
    }
    assert!(patched > 0, "no DURATION tag found");
    std::fs::write(path, bytes).unwrap();
}

/// Makes every JPEG frame of an MJPEG file claim `side`x`side` pixels (its SOF0 header), as a
/// damaged or hostile file does; the container still says `w`x`h`.
fn claim_picture_size(path: &Path, w: u16, h: u16, side: u16) {
    let mut bytes = std::fs::read(path).unwrap();
    let sof = [&[0xff, 0xc0, 0x00, 0x11, 0x08][..], &h.to_be_bytes(), &w.to_be_bytes()].concat();
    let mut patched = 0;
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(sof.len()).position(|win| win == sof.as_slice()) {
        let i = at + i + 5;
        bytes[i..i + 2].copy_from_slice(&side.to_be_bytes());
        bytes[i + 2..i + 4].copy_from_slice(&side.to_be_bytes());
        patched += 1;
        at = i;
    }
    assert!(patched > 0, "no JPEG frame header found");
    std::fs::write(path, bytes).unwrap();
}

fn check(engine: &Engine, name: &str, input: &Path, codec: Codec, audio_stream: Option<u32>, expect: Expect) {
    let req = StreamRequest {
        input: input.to_path_buf(),
        codec,
        scale: None,
        max_height: None,
        audio_stream,
        start_segment: None,
        start_seconds: None,
        media: None,
        copy_fallback: false,
    };
    let outcome = engine.start(req).and_then(|st| {
        let job = engine.job(&st.job_id)?;
        let end = engine.block_on(job.wait_terminal(Duration::from_secs(180)));
        assert!(end.state.is_terminal(), "{name}: still {:?} after 180 s", end.state);
        match end.state {
            JobState::Done => Ok(end),
            _ => Err(end.error.expect("failed jobs say why")),
        }
    });
    match (expect, outcome) {
        (Expect::Upscaled(w, h), Ok(end)) => {
            let f = end.final_path.unwrap();
            let p = ffprobe_json(f.to_str().unwrap(), "stream=codec_type,codec_name,width,height:format=duration");
            let streams = p["streams"].as_array().unwrap();
            let v = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
            assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(w as u64), Some(h as u64)), "{name}");
            assert_eq!(v["codec_name"], codec.name(), "{name}");
            for a in streams.iter().filter(|s| s["codec_type"] == "audio") {
                assert_eq!(a["codec_name"], "aac", "{name}: audio must be playable in the container");
            }
            let got: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
            assert!(
                (got - end.duration_seconds).abs() <= end.segment_seconds as f64,
                "{name}: {got}s vs {}s",
                end.duration_seconds
            );
            let errors = decode_errors(&f);
            assert!(errors.is_empty(), "{name}: final file does not decode cleanly: {errors}");
        }
        (Expect::Refused(code, text), Err(e)) => {
            assert_eq!(e.code, code, "{name}: {e:?}");
            assert!(e.message.contains(text), "{name}: message {:?} lacks {text:?}", e.message);
        }
        (Expect::Upscaled(..), Err(e)) => panic!("{name}: expected an upscale, got {e:?}"),
        (Expect::Refused(..), Ok(end)) => panic!("{name}: expected a refusal, got {:?}", end.final_path),
    }
}

#[test]
fn every_file_in_the_bad_media_corpus_upscales_or_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let engine = Engine::new(config(d, 1)).unwrap();
    let t = |s: &'static str| -> &'static [&'static str] { Box::leak(vec!["-t", s].into_boxed_slice()) };
    let h264: &[&str] = &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
    use Expect::*;

    std::fs::write(d.join("zero.mkv"), b"").unwrap();
    check(&engine, "zero-byte", &d.join("zero.mkv"), Codec::H264, None, Refused(ErrorCode::BadInput, "empty"));
    std::fs::write(d.join("text.mkv"), "This is a shopping list, not a film.\n".repeat(50)).unwrap();
    check(
        &engine,
        "text named .mkv",
        &d.join("text.mkv"),
        Codec::H264,
        None,
        Refused(ErrorCode::BadInput, "not a readable video"),
    );
    std::fs::write(
        d.join("junk.mp4"),
        (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    check(&engine, "random bytes", &d.join("junk.mp4"), Codec::H264, None, Refused(ErrorCode::BadInput, ""));

    let mp4 = make(d, "whole.mp4", &[&V, &A, t("2"), h264, &["-c:a", "aac"]]);
    let bytes = std::fs::read(&mp4).unwrap();
    std::fs::write(d.join("head.mp4"), &bytes[..600]).unwrap();
    check(&engine, "mp4 cut mid-header", &d.join("head.mp4"), Codec::H264, None, Refused(ErrorCode::BadInput, ""));
    let mkv = make(d, "whole.mkv", &[&V, &A, t("6"), h264, &["-c:a", "aac"]]);
    let bytes = std::fs::read(&mkv).unwrap();
    std::fs::write(d.join("cut.mkv"), &bytes[..bytes.len() / 2]).unwrap();
    check(&engine, "mkv cut mid-stream", &d.join("cut.mkv"), Codec::H264, None, Refused(ErrorCode::BadInput, ""));
    let liar = make(d, "liar.mkv", &[&V, t("2"), h264]);
    declare_three_hours(&liar);
    // The header claims 3 h; the video track's own DURATION tag says 2 s, and the timeline
    // follows the video: its 2 s are upscaled, every frame checked against the scan.
    check(&engine, "3 h declared in a tiny file", &liar, Codec::H264, None, Upscaled(640, 360));
    // The header claims 3 h, the video track's own tag 40 h: the packets say 2 s. The job
    // ends naming the claim, whether the packet read or the encoder's end shows it first.
    let tagged_liar = make(d, "tagged-liar.mkv", &[&V, &A, t("2"), h264, &["-c:a", "aac"]]);
    declare_three_hours(&tagged_liar);
    claim_tag_duration(&tagged_liar, "40:00:00");
    check(
        &engine,
        "40 h claimed by every tag",
        &tagged_liar,
        Codec::H264,
        None,
        Refused(ErrorCode::BadInput, "10800 s"),
    );

    let m4a = make(d, "audio.m4a", &[&A, t("2"), &["-c:a", "aac"]]);
    check(&engine, "audio only", &m4a, Codec::H264, None, Refused(ErrorCode::BadInput, "no video stream"));
    let png = make(d, "still.png", &[&V, &["-frames:v", "1"]]);
    check(&engine, "still image", &png, Codec::H264, None, Refused(ErrorCode::BadInput, "still image"));
    let k4 = make(d, "4k.mkv", &[&["-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=24"], t("0.2"), h264]);
    check(&engine, "already 4K", &k4, Codec::H264, None, Refused(ErrorCode::BadInput, "nothing to upscale"));

    let silent = make(d, "silent.mp4", &[&V, t("3"), h264]);
    check(&engine, "no audio", &silent, Codec::H264, None, Upscaled(640, 360));
    let two = make(
        d,
        "two-audio.mkv",
        &[
            &V,
            &A,
            &["-f", "lavfi", "-i", "sine=frequency=880"],
            t("3"),
            h264,
            &["-map", "0", "-map", "1", "-map", "2", "-c:a", "aac"],
        ],
    );
    check(&engine, "second audio track", &two, Codec::H264, Some(2), Upscaled(640, 360));
    for (name, codec) in [("pcm.mkv", "pcm_s16le"), ("flac.mkv", "flac"), ("opus.mkv", "libopus")] {
        let f = make(d, name, &[&V, &A, t("3"), h264, &["-c:a", codec]]);
        check(&engine, name, &f, Codec::H264, None, Upscaled(640, 360));
    }
    let vfr = make(
        d,
        "vfr.mkv",
        &[&V, &A, t("4"), &["-vf", "select='not(mod(n\\,3))+eq(n\\,40)'", "-fps_mode", "vfr"], h264, &["-c:a", "aac"]],
    );
    check(&engine, "variable frame rate", &vfr, Codec::H264, None, Upscaled(640, 360));
    let interlaced = make(
        d,
        "interlaced.ts",
        &[&V, &A, t("3"), &["-vf", "tinterlace=4", "-flags", "+ilme+ildct"], h264, &["-c:a", "aac"]],
    );
    check(&engine, "interlaced", &interlaced, Codec::H264, None, Upscaled(640, 360));
    let ten = make(
        d,
        "hevc10.mkv",
        &[
            &V,
            &A,
            t("2"),
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p10le",
                "-x265-params",
                "log-level=error",
                "-c:a",
                "aac",
            ],
        ],
    );
    check(&engine, "10-bit HEVC to H.264", &ten, Codec::H264, None, Upscaled(640, 360));
    check(&engine, "10-bit HEVC to HEVC", &ten, Codec::Hevc, None, Upscaled(640, 360));
    let odd = make(d, "odd.mkv", &[&V, &A, t("2"), &["-vf", "scale=853:481", "-c:v", "ffv1", "-c:a", "aac"]]);
    // `scale` kept the 16:9 display aspect with pixels of 7696:7677: square at 962 lines is 1710.
    check(&engine, "853x481", &odd, Codec::H264, None, Upscaled(1710, 962));
    let fast = make(d, "1000fps.mkv", &[&["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=1000"], &A, t("1"), h264]);
    check(&engine, "exactly 1000 fps", &fast, Codec::H264, None, Refused(ErrorCode::BadInput, "1000.000 fps is above"));
    let huge = make(d, "huge.mkv", &[&V, t("1"), &["-c:v", "mjpeg", "-q:v", "5"]]);
    claim_picture_size(&huge, 320, 180, 16384);
    check(
        &engine,
        "16384x16384 header",
        &huge,
        Codec::H264,
        None,
        Refused(ErrorCode::BadInput, "Picture size 16384x16384 is invalid"),
    );
    let upright = make(d, "upright.mp4", &[&V, &A, t("2"), h264, &["-c:a", "aac"]]);
    let rotated = d.join("rotated.mp4");
    rotated_copy(&upright, &rotated, 90);
    check(&engine, "rotated 90", &rotated, Codec::H264, None, Upscaled(360, 640));
    let one = make(d, "one-frame.mp4", &[&V, &["-frames:v", "1"], h264]);
    check(&engine, "one frame", &one, Codec::H264, None, Upscaled(640, 360));
    let half = make(d, "half.mp4", &[&V, &A, t("0.5"), h264, &["-c:a", "aac"]]);
    check(&engine, "0.5 s", &half, Codec::H264, None, Upscaled(640, 360));
    assert!(ffmpeg_children(std::process::id(), d).is_empty());
}
