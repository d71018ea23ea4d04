//! Helpers shared by the integration tests: tiny generated clips, engine configs, process
//! checks. Tests drive the real ffmpeg; none is mocked.
#![allow(dead_code)]

pub mod abi;
pub mod media;

use jellyscale::{Backend, Codec, Config, Engine, JobStatus, StreamRequest};
use std::path::{Path, PathBuf};
use std::process::Command;

/// ffmpeg must be installed for these tests (scripts/test installs it).
pub fn ffmpeg() -> PathBuf {
    which::which("ffmpeg").expect("ffmpeg is not installed: run scripts/test, which installs it")
}

/// What the ffmpeg on PATH is, as the engine sees it (asked once per test binary).
pub fn ffmpeg_caps() -> jellyscale::caps::FfmpegCaps {
    static CAPS: std::sync::OnceLock<jellyscale::caps::FfmpegCaps> = std::sync::OnceLock::new();
    *CAPS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(jellyscale::caps::ffmpeg_caps(&ffmpeg(), None))
    })
}

/// Copies `source` to `target` marked to be shown rotated by `degrees` (a display matrix, which
/// ffprobe reports as the stream's `rotation`). ffmpeg 5.1 writes one only from the legacy
/// `rotate` tag while remuxing; 7.1 and 9.0 ignore that tag and take `-display_rotation` (an
/// input option since 6.0) instead.
pub fn rotated_copy(source: &Path, target: &Path, degrees: i32) {
    let mut cmd = Command::new(ffmpeg());
    cmd.args(["-v", "error", "-y"]);
    let degrees = degrees.to_string();
    if ffmpeg_caps().at_least(6, 0) {
        cmd.args(["-display_rotation:v:0", &degrees, "-i"]).arg(source).args(["-c", "copy"]);
    } else {
        cmd.arg("-i").arg(source).args(["-c", "copy", "-metadata:s:v:0", &format!("rotate={degrees}")]);
    }
    assert!(cmd.arg(target).status().expect("run ffmpeg").success(), "could not rotate {}", source.display());
    let rotation = ffprobe_json(&target.to_string_lossy(), "stream_side_data=rotation");
    assert!(rotation.to_string().contains("rotation"), "{} is not rotated: {rotation}", target.display());
}

/// Generates a test-pattern clip with a tone: `seconds` long, `size` like "320x180".
pub fn clip(dir: &Path, name: &str, seconds: f64, size: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=24"))
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t"])
        .arg(seconds.to_string())
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .args(extra)
        .arg(&path)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "could not generate {name}");
    path
}

/// A small mpv-style user shader written for the tests (ships nothing third-party). Run by
/// libplacebo on mesa's software Vulkan device it is also an encoder far slower than real time.
pub const SHADER: &str = "//!HOOK MAIN\n//!BIND HOOKED\n//!DESC jellyscale test: brighten\nvec4 hook() { return HOOKED_tex(HOOKED_pos) * 1.15; }\n";

/// Writes [`SHADER`] into `dir` for a config's `shader_path`.
pub fn shader_file(dir: &Path) -> PathBuf {
    let path = dir.join("test-shader.glsl");
    std::fs::write(&path, SHADER).unwrap();
    path
}

/// Serves job `id` with `jellyscale serve`'s router on 127.0.0.1 inside the engine's runtime;
/// returns the base URL (ending in `/`).
pub fn serve_router(engine: &Engine, id: &str) -> String {
    let app = jellyscale::server::router(engine.handle(), id.to_owned());
    let listener = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let head = jellyscale::server::HEAD_TIMEOUT;
    engine.runtime().spawn(jellyscale::server::serve(listener, app, head, std::future::pending()));
    format!("http://{addr}/")
}

/// A request to upscale `input` to `codec` with the config's defaults.
pub fn request(input: &Path, codec: Codec) -> StreamRequest {
    StreamRequest {
        input: input.to_path_buf(),
        codec,
        scale: None,
        max_height: None,
        audio_stream: None,
        start_segment: None,
        start_seconds: None,
        media: None,
        copy_fallback: false,
    }
}

/// Waits (bounded) until a job ends.
pub fn run_to_end(engine: &Engine, id: &str) -> JobStatus {
    let job = engine.job(id).unwrap();
    engine.block_on(job.wait_terminal(std::time::Duration::from_secs(300)))
}

/// Video frames in `file`, counted by decoding.
pub fn frame_count(file: &Path) -> u32 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().parse().expect("a frame count")
}

/// Engine logs in the test's output when `JELLYSCALE_LOG` is set (tracing's filter syntax).
pub fn logs() {
    if let Ok(filter) = std::env::var("JELLYSCALE_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// A CPU-backend config inside `dir` with short segments.
pub fn config(dir: &Path, segment_seconds: u32) -> Config {
    logs();
    Config {
        cache_dir: dir.join("cache"),
        output_dir: Some(dir.join("out")),
        backend: Backend::Cpu,
        segment_seconds,
        cpu_preset: "ultrafast".into(),
        ..Config::default()
    }
}

/// A shell script in `dir` that runs `before`, then the real ffprobe with its arguments: a
/// config's `ffprobe_path` that can be slowed down or watched.
pub fn wrapped_ffprobe(dir: &Path, before: &str) -> PathBuf {
    wrapped_tool(dir, "ffprobe", before)
}

/// [`wrapped_ffprobe`] for any tool on the PATH (`ffmpeg`).
pub fn wrapped_tool(dir: &Path, tool: &str, before: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(format!("wrapped-{tool}"));
    let real = which::which(tool).unwrap_or_else(|_| panic!("{tool} is installed"));
    std::fs::write(&script, format!("#!/bin/sh\n{before}\nexec '{}' \"$@\"\n", real.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Runs ffprobe and returns `stream=...`/`format=...` entries as JSON.
pub fn ffprobe_json(target: &str, entries: &str) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_entries", entries, target])
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe {target}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}

/// Pids of running (non-zombie) processes named `ffmpeg` whose parent is `parent` and whose
/// command line mentions `marker` or which run inside it (every encoder runs in its job's
/// folder; tests run in parallel in one process).
pub fn ffmpeg_children(parent: u32, marker: &Path) -> Vec<u32> {
    let marker = marker.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = &stat[open + 1..close];
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let inside = std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&marker));
        let mentions = inside || String::from_utf8_lossy(&cmdline).contains(&marker);
        if comm == "ffmpeg"
            && mentions
            && rest.first() != Some(&"Z")
            && rest.get(1) == Some(&parent.to_string().as_str())
        {
            out.push(pid);
        }
    }
    out
}

/// True while the pid exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|r| !r.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// Presentation times of the video frames in `file`, ascending (from its packets: what players
/// schedule by).
pub fn frame_times(file: &Path) -> Vec<f64> {
    stream_times(file, "v:0")
}

/// Presentation times of the first audio stream's packets in `file`, ascending.
pub fn audio_times(file: &Path) -> Vec<f64> {
    stream_times(file, "a:0")
}

/// Packets that are not played are left out: those an edit list marks for discarding (MP4's
/// AAC priming) and those the demuxer tells the decoder to skip whole (ffmpeg 9.0 reads a
/// Matroska file's AAC priming packet at -0.023 s with 1024 samples to skip, and
/// `-copypriorss 0` leaves it out of a copy; 5.1 and 7.1 read it as a packet at zero).
fn stream_times(file: &Path, stream: &str) -> Vec<f64> {
    let entries = "packet=pts_time,flags:packet_side_data=skip_samples";
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream, "-show_entries", entries, "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    let mut t: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.trim().trim_end_matches(',').split(',');
            let pts = f.next()?.parse().ok()?;
            let discarded = f.next().unwrap_or("").contains('D');
            let skipped_whole = f.next().and_then(|s| s.parse::<u32>().ok()).is_some_and(|s| s >= 1024);
            (!discarded && !skipped_whole).then_some(pts)
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

/// Asserts that `saved` holds exactly `source`'s video frames: the same count, and every
/// presentation time the same within a tick once the files' constant offset is taken out.
pub fn assert_same_frames(source: &Path, saved: &Path) {
    let (want, got) = (frame_times(source), frame_times(saved));
    assert_eq!(got.len(), want.len(), "{} holds {} frames, the source {}", saved.display(), got.len(), want.len());
    let offset = got[0] - want[0];
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - offset - w).abs() < 0.0015, "frame {i} at {:.4}s instead of {w:.4}s", g - offset);
    }
}

/// What ffmpeg says decoding every frame of `file` (empty: no error at all). The null output
/// keeps the file's own time base: with ffmpeg's default of 1/frame rate, millisecond times of a
/// Matroska source round onto the same tick and the null muxer reports its own collisions.
pub fn decode_errors(file: &Path) -> String {
    let out = Command::new(ffmpeg())
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-enc_time_base", jellyscale::plan::enc_time_base_demux(ffmpeg_caps()), "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Asserts the first audio stream of `file` runs without a hole or an overlap of more than one
/// AAC frame anywhere (a frame is 1024 samples at `rate`).
pub fn assert_continuous_audio(file: &Path, rate: f64) {
    let frame = 1024.0 / rate;
    let t = audio_times(file);
    assert!(t.len() > 1, "{} has audio", file.display());
    for w in t.windows(2) {
        let step = w[1] - w[0];
        assert!(step > 0.0 && (step - frame).abs() <= frame + 0.0015, "audio jumps {step:.4}s at {:.3}s", w[0]);
    }
}

/// The next number of a small xorshift generator: a seeded sequence that a failing test can
/// print and repeat.
pub fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}
