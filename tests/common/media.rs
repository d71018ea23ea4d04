//! Test sources shaped like library files rather than lavfi's exact clocks: Matroska with
//! millisecond timestamps and 44.1 kHz AAC (whose priming leaves the video ~23 ms after the
//! audio), MPEG-TS with a start offset at 29.97 fps, variable frame rate MP4. All generated.

use super::ffmpeg;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Encodes `seconds` of lavfi `video` (at `size`) with an AAC sine at `rate` Hz to
/// `dir/name`, with `extra` output options.
fn make(dir: &Path, name: &str, seconds: u32, video: &str, rate: u32, extra: &[&str]) -> PathBuf {
    let t = seconds.to_string();
    let sine = format!("sine=frequency=440:sample_rate={rate}");
    let mut args = vec!["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", &sine, "-t", &t];
    args.extend(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"]);
    args.extend(extra);
    generate(&dir.join(name), &args)
}

/// Runs ffmpeg with `args` to write `path`.
fn generate(path: &Path, args: &[&str]) -> PathBuf {
    let ok = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(path)
        .status()
        .expect("run ffmpeg")
        .success();
    assert!(ok, "could not make {}", path.display());
    path.to_path_buf()
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

/// A DVD rip as `.vob`: 720x480 MPEG-2 at 29.97 fps, interlaced top field first
/// (`-flags +ilme+ildct`), 32:27 pixels shown 16:9, AC-3 5.1 audio, in an MPEG program stream
/// whose clock starts at ~0.5 s.
pub fn dvd_vob(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    let t = seconds.to_string();
    let mut args = vec!["-f", "lavfi", "-i", "testsrc2=size=720x480:rate=60000/1001"];
    args.extend(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &t]);
    args.extend(["-vf", "tinterlace=interleave_top,fieldorder=tff,setsar=32/27", "-c:v", "mpeg2video"]);
    args.extend(["-flags", "+ilme+ildct", "-b:v", "4M", "-aspect", "16:9"]);
    args.extend(["-c:a", "ac3", "-ac", "6", "-f", "vob"]);
    generate(&dir.join(name), &args)
}
