//! The fallback rung as a copy of the source, beside plain ffmpeg/ffprobe doing the same work in
//! the same run: what reading the keyframes costs, what the copying rung's ffmpeg costs against
//! an encoded fallback, and what the keyframe read adds to the first segment.
//!
//! `cargo bench --bench fallback` (or `scripts/bench fallback`). Not a test: nothing here asserts
//! timing.

mod support;

use jellyscale::{Config, Engine};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{config, median, request, row};

const RUNS: usize = 5;
const SECONDS: u32 = 120;

/// CPU seconds used so far by waited-for children (user + system).
fn children_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Runs a command to its end: (wall seconds, CPU seconds).
fn timed(program: &Path, args: &[std::ffi::OsString], dir: &Path) -> (f64, f64) {
    let cpu = children_cpu();
    let t = Instant::now();
    let ok = Command::new(program).args(args).current_dir(dir).stdout(Stdio::null()).status().expect("run").success();
    assert!(ok, "{} failed", program.display());
    (t.elapsed().as_secs_f64(), children_cpu() - cpu)
}

/// A fresh engine's start to segment 0 of the upscale served over HTTP (a fixed timeline's first
/// segment lasting `first_seconds`).
fn first_segment(dir: &Path, input: &Path, copy_fallback: bool, first_seconds: u32) -> f64 {
    let engine = Engine::new(Config { first_segment_seconds: first_seconds, ..config(dir) }).unwrap();
    let listener = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let t = Instant::now();
    let st = engine.start(request(input, copy_fallback)).unwrap();
    assert_eq!(st.rungs[1].stream_copy, copy_fallback);
    let app = jellyscale::server::router(engine.handle(), st.job_id.clone());
    engine.runtime().spawn(async move { axum::serve(listener, app).await });
    assert!(!client.get(format!("http://{addr}/0.ts")).send().unwrap().bytes().unwrap().is_empty());
    t.elapsed().as_secs_f64()
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    // 640x360 High with a keyframe every 2 s (and x264's scene cuts): a typical web file.
    let source = support::source(tmp.path(), "source.mkv", "640x360", SECONDS, &["-crf", "16", "-g", "48"]);
    let megabytes = std::fs::metadata(&source).unwrap().len() as f64 / 1e6;
    let engine = Engine::new(config(&tmp.path().join("planner"))).unwrap();
    let copying = engine.block_on(engine.plan(&request(&source, true))).unwrap();
    let encoding = engine.block_on(engine.plan(&request(&source, false))).unwrap();
    let (ffmpeg, ffprobe) = (engine.ffmpeg().to_path_buf(), engine.ffprobe().to_path_buf());
    let source_url = jellyscale::probe::input_url(&source);

    let (mut scan, mut plain_scan) = (vec![], vec![]);
    let (mut copy_wall, mut copy_cpu, mut remux_wall, mut remux_cpu, mut enc_wall, mut enc_cpu) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut first_copy, mut first_plain, mut first_as_long) = (vec![], vec![], vec![]);
    // The fixed timeline with a first segment as long as the copy's: what is left is the read.
    let as_long = copying.timeline.duration_of(0).round() as u32;
    for i in 0..RUNS {
        let at = |name: &str| {
            let d = tmp.path().join(format!("{name}{i}"));
            std::fs::create_dir_all(&d).unwrap();
            d
        };
        // The keyframe read, and plain ffprobe reading the same packets.
        let t = Instant::now();
        engine.block_on(jellyscale::keyframes::scan(&ffprobe, &source)).unwrap();
        scan.push(t.elapsed().as_secs_f64());
        let args: Vec<std::ffi::OsString> =
            ["-v", "error", "-select_streams", "0", "-show_entries", "packet=pts_time,size,flags", "-of", "compact"]
                .iter()
                .map(Into::into)
                .chain([source_url.clone()])
                .collect();
        plain_scan.push(timed(&ffprobe, &args, Path::new(".")).0);

        // The whole fallback rung: the copy, plain ffmpeg remuxing to HLS, the encoded fallback.
        let dir = at("copy");
        let (w, c) = timed(&ffmpeg, &copying.fallback().encode_args(0, None, None), &dir);
        copy_wall.push(w);
        copy_cpu.push(c);
        let remux = at("remux");
        let args: Vec<std::ffi::OsString> = ["-hide_banner", "-loglevel", "error", "-y", "-i"]
            .iter()
            .map(Into::into)
            .chain([source_url.clone()])
            .chain(
                ["-map", "0:0", "-map", "0:1", "-c:v", "copy", "-c:a", "copy", "-f", "hls", "-hls_time", "4"]
                    .iter()
                    .map(Into::into),
            )
            .chain(["-hls_playlist_type", "vod", "-hls_segment_filename"].iter().map(Into::into))
            .chain([remux.join("seg_%05d.ts").into(), remux.join("main.m3u8").into()])
            .collect();
        let (w, c) = timed(&ffmpeg, &args, &remux);
        remux_wall.push(w);
        remux_cpu.push(c);
        let (w, c) = timed(&ffmpeg, &encoding.fallback().encode_args(0, None, None), &at("encoded"));
        enc_wall.push(w);
        enc_cpu.push(c);

        // What the keyframe read and the cuts add before the first segment (the order rotates).
        let mut steps = [0, 1, 2];
        steps.rotate_left(i % 3);
        for step in steps {
            match step {
                0 => first_copy.push(first_segment(&at("firstcopy"), &source, true, 1)),
                1 => first_plain.push(first_segment(&at("firstplain"), &source, false, 1)),
                _ => first_as_long.push(first_segment(&at("firstlong"), &source, false, as_long)),
            }
        }
    }

    println!(
        "\nFallback rung benchmark: {SECONDS} s 640x360 H.264 High source ({megabytes:.1} MB, keyframe every 2 s), 4 s segments, {RUNS} runs"
    );
    println!("{:<52} {:>12} {:>14} {:>8}", "measure", "jellyscale", "reference", "ratio");
    row("keyframe index (vs plain ffprobe packet pass)", &scan, &plain_scan);
    row("copying fallback, whole source: wall (vs plain remux)", &copy_wall, &remux_wall);
    row("copying fallback, whole source: CPU (vs plain remux)", &copy_cpu, &remux_cpu);
    row("encoded fallback, whole source: wall (vs plain remux)", &enc_wall, &remux_wall);
    row("encoded fallback, whole source: CPU (vs plain remux)", &enc_cpu, &remux_cpu);
    row("first segment served, copy_fallback (vs without)", &first_copy, &first_plain);
    row("  vs without, first segment as long as the copy's", &first_copy, &first_as_long);
    println!("(times: medians; ratio: the median of each run's ratio; CPU: user + system of the ffmpeg process)");
    println!(
        "(plain remux: ffmpeg -c copy -f hls -hls_time 4, the same packets without our cut list; index: {:.0} MB/s from the page cache)",
        megabytes / median(scan.clone())
    );
    println!(
        "(first segment: {:.2} s of video cut at the source's keyframes, {:.2} s on the fixed timeline)",
        copying.timeline.duration_of(0),
        encoding.timeline.duration_of(0)
    );
}
