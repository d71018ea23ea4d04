//! Shader super-resolution through ffmpeg's libplacebo filter, run for real on mesa's software
//! Vulkan device (lavapipe): the output must differ from lanczos and keep size and timing.

mod common;

use common::*;
use jellyscale::{Codec, Config, Engine, JobState};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn upscale(dir: &Path, src: &Path, shader: Option<PathBuf>) -> PathBuf {
    let cfg = Config { shader_path: shader, ..config(dir, 1) };
    let engine = Engine::new(cfg).unwrap();
    let req = request(src, Codec::H264);
    let st = engine.start(req).unwrap();
    let done = engine.block_on(engine.job(&st.job_id).unwrap().wait_terminal(Duration::from_secs(300)));
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    done.final_path.unwrap()
}

fn frames(f: &Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(f)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_libplacebo_shader_upscale_differs_from_lanczos_and_keeps_size_and_timing() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "small.mp4", 1.0, "160x90", &[]);
    let shader = dir.path().join("my shader: v1.glsl");
    std::fs::write(&shader, SHADER).unwrap();
    let plain = upscale(&dir.path().join("plain"), &src, None);
    let shaded = upscale(&dir.path().join("shaded"), &src, Some(shader));
    assert_eq!(frames(&plain), frames(&shaded), "same size and frame count");
    assert_eq!(frames(&shaded), "320,180,24");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(&shaded)
        .arg("-i")
        .arg(&plain)
        .args(["-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let psnr: f64 = log
        .split("average:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no PSNR in {log}"));
    assert!(psnr < 40.0, "the shader changed nothing (PSNR {psnr} dB against lanczos)");
}
