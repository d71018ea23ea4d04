//! Test sources shaped like library files rather than lavfi's exact clocks: Matroska with
//! millisecond timestamps and 44.1 kHz AAC (whose priming leaves the video ~23 ms after the
//! audio), MPEG-TS with a start offset at 29.97 fps, variable frame rate MP4. All generated.

use super::ffmpeg;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Encodes `seconds` of lavfi `video` (at `size`) with an AAC sine at `rate` Hz to
/// `dir/name`, with `extra` output options.
fn make(dir: &Path, name: &str, seconds: u32, video: &str, rate: u32, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let ok = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:sample_rate={rate}"))
        .args(["-t", &seconds.to_string(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-ac", "2"])
        .args(extra)
        .arg(&path)
        .status()
        .expect("run ffmpeg")
        .success();
    assert!(ok, "could not make {}", path.display());
    path
}

/// A 23.976 fps H.264 Matroska file with 44.1 kHz stereo AAC, `seconds` long.
pub fn matroska_ms(dir: &Path, name: &str, seconds: u32, size: &str) -> PathBuf {
    make(dir, name, seconds, &format!("testsrc2=size={size}:rate=24000/1001"), 44100, &["-g", "48"])
}

/// A 29.97 fps MPEG-TS recording whose clock starts at 10 s, with 48 kHz AAC.
pub fn ts_with_offset(dir: &Path, name: &str, seconds: u32, size: &str) -> PathBuf {
    let video = format!("testsrc2=size={size}:rate=30000/1001");
    make(dir, name, seconds, &video, 48000, &["-g", "60", "-output_ts_offset", "10", "-f", "mpegts"])
}

/// A variable frame rate MP4: 24 fps with every seventh frame missing (as phone recordings and
/// screen captures vary), 44.1 kHz AAC.
pub fn vfr_mp4(dir: &Path, name: &str, seconds: u32, size: &str) -> PathBuf {
    let video = format!("testsrc2=size={size}:rate=24,select='not(eq(mod(n\\,7)\\,3))'");
    make(dir, name, seconds, &video, 44100, &["-fps_mode", "vfr"])
}
