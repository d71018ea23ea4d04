//! What verification costs beside the encode it checks: the read of the source's frame times
//! (one ffprobe packet pass per source, beside the encode), every segment checked on its own as
//! it is admitted, and the final file checked once as it is assembled. Each against plain
//! ffmpeg running the job's own encode of the same source in the same run, and per minute of
//! video (so a faster encoder, a GPU's, can be set against it too).
//!
//! `cargo bench --bench verify` (or `scripts/bench verify`). Not a test: nothing here asserts timing.

mod support;

use jellyscale::inspect::{Expect, Inspector};
use jellyscale::timeline::Container;
use jellyscale::{Engine, StreamRequest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use support::{config, median, request};

const RUNS: usize = 5;

/// A source as libraries hold them: Matroska (millisecond timestamps), 23.976 fps, AAC at
/// 44.1 kHz.
fn library_source(dir: &Path, size: &str, seconds: u32) -> PathBuf {
    let path = dir.join(format!("source-{size}.mkv"));
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=24000/1001"))
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "48"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&path)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "could not make the {size} source");
    path
}

/// The job's encode of the whole source by plain ffmpeg into `out`: its time and its segments.
fn encode(engine: &Engine, req: &StreamRequest, frames: &[f64], out: &Path) -> (f64, Vec<Vec<u8>>) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let plan = engine.block_on(engine.plan(req)).unwrap();
    let t = Instant::now();
    let ok = Command::new(engine.ffmpeg())
        .args(plan.encode_args(0, None, Some(frames)))
        .current_dir(out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    let took = t.elapsed().as_secs_f64();
    assert!(ok, "the encode failed");
    let segments =
        (0..plan.timeline.count()).map(|k| std::fs::read(out.join(format!("seg_{k:05}.ts"))).unwrap()).collect();
    (took, segments)
}

/// Every segment checked on its own, as the job admits it: seconds for all of them.
fn admit_all(expect: &Expect, segments: &[Vec<u8>]) -> f64 {
    let t = Instant::now();
    for (k, bytes) in segments.iter().enumerate() {
        let mut inspector = Inspector::new(Container::Ts);
        inspector.feed(bytes).unwrap();
        inspector.end_piece().unwrap();
        let piece = inspector.finish().unwrap().pieces.pop().flatten().expect("video");
        let offset = expect.offset_of(k as u32, &piece).unwrap();
        expect.check_piece(k as u32, &piece, offset).unwrap_or_else(|why| panic!("{why}"));
    }
    t.elapsed().as_secs_f64()
}

/// The final file checked once, as its assembly copies the segments: seconds.
fn check_file(expect: &Expect, segments: &[Vec<u8>], codec: &str, (w, h): (u32, u32)) -> f64 {
    let t = Instant::now();
    let mut inspector = Inspector::new(Container::Ts);
    for bytes in segments {
        inspector.feed(bytes).unwrap();
        inspector.end_piece().unwrap();
    }
    let bad = inspector.finish().unwrap().check(expect, codec, w, h).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    t.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::new(config(&tmp.path().join("engine"))).unwrap();
    println!("{RUNS} runs each, medians; ms per minute of video, and as a share of plain ffmpeg's encode");
    println!(
        "{:<34} {:>10} {:>11} {:>10} {:>10} {:>14} {:>12}",
        "source -> output", "encode", "frame read", "segments", "final file", "checks/encode", "read/encode"
    );
    for (size, seconds, height) in [("320x180", 60, 360), ("640x360", 30, 1080)] {
        let input = library_source(tmp.path(), size, seconds);
        let req = StreamRequest { max_height: Some(height), scale: Some(6), ..request(&input, false) };
        let plan = engine.block_on(engine.plan(&req)).unwrap();
        let (mut enc, mut read, mut adm, mut fin) = (vec![], vec![], vec![], vec![]);
        for _ in 0..RUNS {
            let t = Instant::now();
            let index = engine.block_on(jellyscale::keyframes::scan(engine.ffprobe(), &input)).unwrap();
            read.push(t.elapsed().as_secs_f64());
            let (took, segments) = encode(&engine, &req, &index.frames, &tmp.path().join("out"));
            enc.push(took);
            let expect =
                Expect { timeline: &plan.timeline, frames: Some(&index.frames), audio: true, presentation_times: true };
            adm.push(admit_all(&expect, &segments));
            fin.push(check_file(&expect, &segments, "h264", (plan.profile.width, plan.profile.height)));
        }
        let minutes = plan.timeline.duration / 60.0;
        let per_min = |v: &[f64]| median(v.to_vec()) * 1000.0 / minutes;
        let share = |v: Vec<f64>| median(v.iter().zip(&enc).map(|(a, e)| a / e).collect()) * 100.0;
        let checks: Vec<f64> = adm.iter().zip(&fin).map(|(a, f)| a + f).collect();
        let name = format!("{size} -> {}x{} ({seconds} s)", plan.profile.width, plan.profile.height);
        println!(
            "{name:<34} {:>10.0} {:>11.1} {:>10.2} {:>10.2} {:>13.2}% {:>11.2}%",
            per_min(&enc),
            per_min(&read),
            per_min(&adm),
            per_min(&fin),
            share(checks),
            share(read.clone())
        );
    }
    // The frame read is one ffprobe pass per source: most of a short clip's figure is ffprobe
    // starting; a film's length shows what it costs per minute.
    let long = tmp.path().join("long.mkv");
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24000/1001"])
        .args(["-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", "600", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-g", "48", "-c:a", "aac", "-shortest"])
        .arg(&long)
        .status()
        .unwrap()
        .success();
    assert!(ok, "could not make the 10-minute source");
    let reads: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            engine.block_on(jellyscale::keyframes::scan(engine.ffprobe(), &long)).unwrap();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let read = median(reads);
    println!("frame read of a 10-minute source: {:.0} ms, {:.1} ms per minute", read * 1000.0, read * 100.0);
    println!("(the frame read runs beside the encode, once per source; the checks are in-process, as segments land)");
}
