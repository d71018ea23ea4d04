//! The built-in sample clip for `jellyscale serve` with no input: nothing to download.

use jellyscale::{Engine, Error};
use std::path::PathBuf;

/// Generates (once) a 30 s 320x180 test pattern with a tone in the cache folder.
pub fn generate(engine: &Engine) -> Result<PathBuf, Error> {
    let path = engine.config().cache_dir.join("sample-320x180.mp4");
    if path.is_file() {
        return Ok(path);
    }
    let tmp = path.with_extension("partial.mp4");
    let status = std::process::Command::new(engine.ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "30"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(&tmp)
        .status()
        .map_err(|e| Error::ffmpeg(format!("cannot run ffmpeg: {e}")))?;
    if !status.success() {
        return Err(Error::ffmpeg("could not generate the sample clip"));
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("cannot rename into", &path, e))?;
    tell!("no input given: generated sample {}", path.display());
    Ok(path)
}
