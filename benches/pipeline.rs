//! Whole-pipeline benchmark: Jellyscale beside plain ffmpeg running the very same encode in the
//! same run. Prints one table (medians of several runs and their ratios).
//!
//! `cargo bench --bench pipeline` (or `scripts/bench`). Not a test: nothing here asserts timing.

use jellyscale::probe::MediaInfo;
mod support;

use jellyscale::{Config, Engine, JobState, StreamRequest};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{config, median, request, row};

const RUNS: usize = 7;

/// Plain ffmpeg running the exact argv Jellyscale would for a run from segment `from`: time to
/// its first segment, and total (`whole`), or killed once the first segment exists.
fn plain_ffmpeg(engine: &Engine, input: &Path, out: &Path, from: u32, whole: bool) -> (f64, f64) {
    std::fs::create_dir_all(out).unwrap();
    let plan = engine.block_on(engine.plan(&request(input, false))).unwrap();
    let first = out.join(format!("seg_{from:05}.ts"));
    let t = Instant::now();
    let mut child = Command::new(engine.ffmpeg())
        .args(plan.encode_args(from, None, None))
        .current_dir(out)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first_at = None;
    loop {
        if first_at.is_none() && first.exists() {
            first_at = Some(t.elapsed().as_secs_f64());
            if !whole {
                child.kill().unwrap();
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (first_at.unwrap_or(f64::NAN), t.elapsed().as_secs_f64())
}

/// Jellyscale: start to segment 0 served over HTTP (by `jellyscale serve`'s router), start to
/// verified final file, and the finishing cost (assembly + verification: from `finalizing` to
/// `done`). With `media` the request describes the source, as the plugin's do. Without
/// `whole`, the engine (and its ffmpeg) stops once segment 0 is served.
fn jellyscale(dir: &Path, input: &Path, media: Option<&MediaInfo>, whole: bool) -> (f64, f64, f64) {
    let engine = Engine::new(config(dir)).unwrap();
    let listener = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let t = Instant::now();
    let st = engine.start(StreamRequest { media: media.cloned(), ..request(input, false) }).unwrap();
    let app = jellyscale::server::router(engine.handle(), st.job_id.clone());
    engine.runtime().spawn(async move { axum::serve(listener, app).await });
    let segment = client.get(format!("http://{addr}/0.ts")).send().unwrap().bytes().unwrap();
    let first = t.elapsed().as_secs_f64();
    assert!(!segment.is_empty());
    if !whole {
        return (first, f64::NAN, f64::NAN);
    }
    let job = engine.job(&st.job_id).unwrap();
    let finishing = engine.block_on(async {
        let mut rx = job.subscribe();
        let mut since = None;
        while !job.state().is_terminal() {
            if since.is_none() && job.state() == JobState::Finalizing {
                since = Some(Instant::now());
            }
            let _ = rx.changed().await;
        }
        since.map_or(f64::NAN, |s| s.elapsed().as_secs_f64())
    });
    assert!(job.status().final_path.is_some(), "{:?}", job.status().error);
    (first, t.elapsed().as_secs_f64(), finishing)
}

/// The designs Jellyscale does not use, for comparison: HLS and the final file encoded by two
/// ffmpeg runs, or by one run through the tee muxer.
fn alternatives(engine: &Engine, input: &Path, out: &Path) -> (f64, f64) {
    std::fs::create_dir_all(out).unwrap();
    let plan = engine.block_on(engine.plan(&request(input, false))).unwrap();
    let hls = plan.encode_args(0, None, None);
    let (w, h) = (plan.profile.width, plan.profile.height);
    let vf = format!("scale={w}:{h}:flags=lanczos,format=yuv420p");
    let t = Instant::now();
    let a =
        Command::new(engine.ffmpeg()).args(&hls).current_dir(out).stdout(std::process::Stdio::null()).spawn().unwrap();
    let b = Command::new(engine.ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(["-vf", &vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "copy"])
        .arg(out.join("twice.mp4"))
        .status()
        .unwrap();
    assert!(b.success() && a.wait_with_output().unwrap().status.success());
    let twice = t.elapsed().as_secs_f64();
    let tee = format!(
        "[f=hls:hls_time=4:hls_playlist_type=event:hls_segment_filename={0}/tee_%05d.ts]{0}/tee.m3u8|[f=mp4]{0}/tee.mp4",
        out.display()
    );
    let t = Instant::now();
    let ok = Command::new(engine.ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(["-map", "0:v:0", "-map", "0:a:0", "-vf", &vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"])
        .args(["-force_key_frames", "expr:gte(t,n_forced*4)", "-sc_threshold", "0", "-c:a", "copy"])
        .args(["-flags", "+global_header", "-f", "tee", &tee])
        .status()
        .unwrap()
        .success();
    assert!(ok, "tee run failed");
    (twice, t.elapsed().as_secs_f64())
}

/// Seek latency: a job playing from the start is asked for the segment at 40 s of a 60 s
/// clip; from that request to the segment ready (the encoder is killed and restarted there).
fn seek(dir: &Path, input: &Path) -> f64 {
    let engine = Engine::new(config(dir)).unwrap();
    let st = engine.start(request(input, false)).unwrap();
    engine.block_on(engine.wait_segment(&st.job_id, 0, Duration::from_secs(60))).unwrap();
    let t = Instant::now();
    engine.block_on(engine.wait_segment(&st.job_id, 10, Duration::from_secs(60))).unwrap();
    t.elapsed().as_secs_f64()
}

/// A light unsharp mask in mpv's user-shader format, written for this benchmark.
const SHARPEN: &str = "//!HOOK MAIN\n//!BIND HOOKED\n//!DESC jellyscale bench: light unsharp mask\nvec4 hook() {\n    vec4 c = HOOKED_tex(HOOKED_pos);\n    vec4 blur = (HOOKED_texOff(vec2(1.0, 0.0)) + HOOKED_texOff(vec2(-1.0, 0.0)) + HOOKED_texOff(vec2(0.0, 1.0)) + HOOKED_texOff(vec2(0.0, -1.0))) * 0.25;\n    return c + (c - blur) * 0.5;\n}\n";

/// PSNR and SSIM of `candidate` against `reference` (ffmpeg's own filters).
fn psnr_ssim(candidate: &Path, reference: &Path) -> (f64, f64) {
    let score = |filter: &str, key: &str| -> f64 {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-i"])
            .arg(candidate)
            .arg("-i")
            .arg(reference)
            .args(["-lavfi", &format!("[0:v][1:v]{filter}"), "-f", "null", "-"])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        log.rsplit(key)
            .next()
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    (score("psnr", "average:"), score("ssim", "All:"))
}

/// Downscale a 640x360 reference to 320x180, upscale it back with lanczos and with a shader,
/// and score both against the reference.
fn quality(dir: &Path) {
    let reference = dir.join("reference.mkv");
    let small = dir.join("small.mkv");
    let run = |args: &[&str], out: &Path| {
        assert!(Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .arg(out)
            .status()
            .unwrap()
            .success());
    };
    run(&["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24", "-t", "1", "-c:v", "ffv1"], &reference);
    run(&["-i", reference.to_str().unwrap(), "-vf", "scale=320:180:flags=bicubic", "-c:v", "ffv1"], &small);
    let shader = dir.join("sharpen.glsl");
    std::fs::write(&shader, SHARPEN).unwrap();
    let mut rows = Vec::new();
    for (name, shader) in [("lanczos (scale)", None), ("libplacebo ewa_lanczos + sharpen shader", Some(shader))] {
        let sub = dir.join(name.split_whitespace().next().unwrap());
        let engine = Engine::new(Config { shader_path: shader, cpu_preset: "slow".into(), ..config(&sub) }).unwrap();
        let st = engine.start(request(&small, false)).unwrap();
        let done = engine.block_on(engine.job(&st.job_id).unwrap().wait_terminal(Duration::from_secs(600)));
        let (p, q) = psnr_ssim(&done.final_path.expect("upscaled"), &reference);
        rows.push((name, p, q));
    }
    println!("\nQuality: 640x360 reference, bicubic-downscaled to 320x180, upscaled back 2x by Jellyscale");
    println!("{:<48} {:>10} {:>8}", "upscaler", "PSNR dB", "SSIM");
    for (name, p, q) in rows {
        println!("{name:<48} {p:>10.2} {q:>8.4}");
    }
}

fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    let tmp = tempfile::tempdir().unwrap();
    let clip20 = support::source(tmp.path(), "clip20.mp4", "320x180", 20, &[]);
    let clip60 = support::source(tmp.path(), "clip60.mp4", "320x180", 60, &[]);
    let probe_engine = Engine::new(config(&tmp.path().join("probe"))).unwrap();
    // What the plugin passes: the source as Jellyfin already probed it.
    let described = probe_engine.block_on(jellyscale::probe::probe(probe_engine.ffprobe(), &clip20)).unwrap();
    let (mut pf, mut pt, mut jf, mut jt, mut sk, mut pf60) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut df, mut dt) = (vec![], vec![]);
    let (mut fin, mut twice, mut tee, mut pt60, mut jt60) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..RUNS {
        // Each run measures everything once, in an order rotated from run to run, so whatever
        // comes first or right after a heavy step (caches, CPU boost, a neighbour's load)
        // favours neither side of a ratio. The 60 s jobs: the fixed costs (the ffprobe before,
        // the finishing after) weigh less there.
        let mut steps: Vec<u8> = (0..11).collect();
        steps.rotate_left(i % 11);
        for step in steps {
            let at = |name: &str| tmp.path().join(format!("{name}{i}"));
            match step {
                0 => pt60.push(plain_ffmpeg(&probe_engine, &clip60, &at("plainlong"), 0, true).1),
                1 => jt60.push(jellyscale(&at("jslong"), &clip60, None, true).1),
                2 => {
                    let (f, t) = plain_ffmpeg(&probe_engine, &clip20, &at("plain"), 0, true);
                    pf.push(f);
                    pt.push(t);
                }
                3 => {
                    let (f, t, finishing) = jellyscale(&at("js"), &clip20, None, true);
                    jf.push(f);
                    jt.push(t);
                    fin.push(finishing);
                }
                4 => {
                    let (f, t, _) = jellyscale(&at("jsd"), &clip20, Some(&described), true);
                    df.push(f);
                    dt.push(t);
                }
                5 => {
                    let (two, one) = alternatives(&probe_engine, &clip20, &at("alt"));
                    twice.push(two);
                    tee.push(one);
                }
                6 => sk.push(seek(&at("seek"), &clip60)),
                7 => pf60.push(plain_ffmpeg(&probe_engine, &clip60, &at("plain60_"), 10, true).0),
                // More first segments, each stopped there: the rows with the smallest figures
                // get the most samples.
                8 => (0..3).for_each(|r| {
                    pf.push(plain_ffmpeg(&probe_engine, &clip20, &at(&format!("pfirst{r}_")), 0, false).0)
                }),
                9 => (0..3).for_each(|r| jf.push(jellyscale(&at(&format!("jfirst{r}_")), &clip20, None, false).0)),
                _ => (0..3)
                    .for_each(|r| df.push(jellyscale(&at(&format!("dfirst{r}_")), &clip20, Some(&described), false).0)),
            }
        }
    }
    println!("\nJellyscale pipeline benchmark: 320x180 -> 640x360 H.264 (libx264 veryfast), 4 s segments, {RUNS} runs");
    println!("{:<52} {:>12} {:>14} {:>8}", "measure", "jellyscale", "plain ffmpeg", "ratio");
    row("time to first segment served over HTTP (20 s)", &jf, &pf);
    row("  the request describing its source (plugin)", &df, &pf);
    row("whole job: HLS + verified final file (20 s)", &jt, &pt);
    row("  the request describing its source (plugin)", &dt, &pt);
    row("whole job: HLS + verified final file (60 s)", &jt60, &pt60);
    row("seek: segment at 40 s of a 60 s clip, served", &sk, &pf60);
    println!(
        "(times: medians; ratio: the median of each run's ratio, as plain ffmpeg and Jellyscale ran side by side in it)"
    );
    println!("(first-segment rows: 4 samples a run, 3 of them stopped once segment 0 is there)");
    println!(
        "(seek row: from the request to segment 10 ready, beside plain ffmpeg started at 40 s to its first segment)"
    );
    println!("{:<52} {:>11.3}s {:>13} {:>8}", "  of which: assemble + verify the final file", median(fin), "", "");
    row("alternative: HLS and final file encoded twice", &jt, &twice);
    row("alternative: one encode through the tee muxer", &jt, &tee);
    println!("(alternatives: Jellyscale's whole job, 20 s, against them)");
    quality(tmp.path());
}
