//! What the benchmarks share: generated sources, the engine config, and the table rows.
#![allow(dead_code)]

use jellyscale::{Backend, Codec, Config, StreamRequest};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The median (the middle after sorting).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One table row: both medians, and the median of the per-run ratios (a run's two figures were
/// measured minutes apart at most, so the machine's drift cancels out of its ratio).
pub fn row(name: &str, ours: &[f64], theirs: &[f64]) {
    let ratios = ours.iter().zip(theirs).map(|(a, b)| a / b).collect();
    println!("{name:<52} {:>11.3}s {:>13.3}s {:>8.2}", median(ours.to_vec()), median(theirs.to_vec()), median(ratios));
}

/// A test-pattern H.264 (x264 veryfast) + AAC source, `extra` added to its encoder options.
pub fn source(dir: &Path, name: &str, size: &str, seconds: u32, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={size}:rate=24"),
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .args(extra)
        .arg(&path)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "could not make {name}");
    path
}

/// A CPU-backend engine config with its folders under `dir` and 4 s segments.
pub fn config(dir: &Path) -> Config {
    Config {
        cache_dir: dir.join("cache"),
        output_dir: Some(dir.join("out")),
        backend: Backend::Cpu,
        segment_seconds: 4,
        ..Config::default()
    }
}

/// A request to upscale `input` to H.264 with the config's defaults.
pub fn request(input: &Path, copy_fallback: bool) -> StreamRequest {
    StreamRequest {
        input: input.to_path_buf(),
        codec: Codec::H264,
        scale: None,
        max_height: None,
        audio_stream: None,
        start_segment: None,
        start_seconds: None,
        media: None,
        copy_fallback,
    }
}
