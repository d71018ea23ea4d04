//! The on-disk layout of a job and the writes that must never be seen half-done.
//!
//! `<cache>/<job-id>/`: `job.json` (manifest), `seg_NNNNN.{ts,m4s}` (complete segments; ffmpeg
//! writes them under a `.tmp` name and renames), `init.mp4` (fMP4 only), `ffmpeg-*.log`.

use crate::error::{Error, Result};
use crate::timeline::Container;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir, path)?;
    tmp.1.write_all(bytes).and_then(|_| tmp.1.sync_all()).map_err(|e| Error::io("cannot write", &tmp.0, e))?;
    std::fs::rename(&tmp.0, path).map_err(|e| Error::io("cannot rename into", path, e))
}

fn tempfile_in(dir: &Path, target: &Path) -> Result<(PathBuf, std::fs::File)> {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.partial", rand::random::<u64>()));
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
    Ok((tmp, file))
}

/// What `job.json` records: enough to recognise the job after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Source path.
    pub input: PathBuf,
    /// The request that made the job, so it can be planned again after a restart.
    #[serde(default)]
    pub request: Option<crate::config::StreamRequest>,
    /// Source size in bytes when the job started.
    pub source_size: u64,
    /// Source modification time (ns since the epoch) when the job started.
    pub source_mtime_ns: i128,
    /// Output description, e.g. `h264 640x360`.
    pub profile: String,
    /// Segment length the segments on disk were made with.
    pub segment_seconds: u32,
    /// Where the finished file is, once it is.
    pub final_path: Option<PathBuf>,
    /// Byte offset of each segment inside the finished file (and the init section first for
    /// fMP4), so a finished job keeps serving the same playlist from that one file.
    #[serde(default)]
    pub final_offsets: Vec<u64>,
    /// ffprobe's answer about the source at that size and mtime, so a restarted engine knows
    /// the job again without probing (absent while only a caller's description was known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::probe::MediaInfo>,
    /// The source's keyframe index at that size and mtime, when its segments follow it, so a
    /// restarted engine cuts the same segments without reading the file again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyframes: Option<crate::keyframes::Keyframes>,
}

/// A job's working folder.
#[derive(Debug, Clone)]
pub struct JobDir {
    /// The folder.
    pub path: PathBuf,
    /// Segment container.
    pub container: Container,
}

impl JobDir {
    /// Creates the folder if needed.
    pub fn create(path: PathBuf, container: Container) -> Result<JobDir> {
        std::fs::create_dir_all(&path).map_err(|e| Error::io("cannot create job folder", &path, e))?;
        Ok(JobDir { path, container })
    }
    /// Path of complete segment `k`.
    pub fn segment(&self, k: u32) -> PathBuf {
        self.path.join(format!("seg_{k:05}.{}", self.container.segment_ext()))
    }
    /// Segment index of a file name written by ffmpeg, if it is a complete segment.
    pub fn parse_segment_name(&self, name: &str) -> Option<u32> {
        let rest = name.strip_prefix("seg_")?.strip_suffix(self.container.segment_ext())?.strip_suffix('.')?;
        (rest.len() == 5 && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.parse().ok())?
    }
    /// The fMP4 init section every segment is served with.
    pub fn init(&self) -> PathBuf {
        self.path.join("init.mp4")
    }
    /// The init section written by the run that started at `first`.
    pub fn run_init(&self, first: u32) -> PathBuf {
        self.path.join(format!("init_{first}.mp4"))
    }
    /// ffmpeg's stderr for the run that started at `first`.
    pub fn log(&self, first: u32) -> PathBuf {
        self.path.join(format!("ffmpeg-{first}.log"))
    }
    /// The manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.path.join("job.json")
    }
    /// Reads the manifest, if there is a readable one.
    pub fn read_manifest(&self) -> Option<Manifest> {
        serde_json::from_slice(&std::fs::read(self.manifest_path()).ok()?).ok()
    }
    /// Writes the manifest atomically.
    pub fn write_manifest(&self, m: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::new(crate::ErrorCode::Internal, e.to_string()))?;
        write_atomic(&self.manifest_path(), &bytes)
    }
    /// Complete segments on disk (indices below `count`).
    pub fn scan_segments(&self, count: u32) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir(&self.path) else { return Vec::new() };
        let mut found: Vec<u32> = entries
            .filter_map(|e| self.parse_segment_name(&e.ok()?.file_name().to_string_lossy()))
            .filter(|&k| k < count)
            .collect();
        found.sort_unstable();
        found
    }
    /// Gives segment `k`, which a copy run wrote in place under a `.tmp` name (the segment
    /// muxer has no temp files), its complete name, if it is there.
    pub fn complete_copied(&self, k: u32) {
        let segment = self.segment(k);
        let mut tmp = segment.clone().into_os_string();
        tmp.push(".tmp");
        let _ = std::fs::rename(tmp, segment);
    }
    /// Segments written under a `.tmp` name (a copy run's, or a killed ffmpeg's).
    pub fn temp_segments(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir(&self.path) else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|e| self.parse_segment_name(e.file_name().to_string_lossy().strip_suffix(".tmp")?))
            .collect()
    }
    /// Removes what a killed ffmpeg leaves behind: half-written `.tmp` segments and playlists
    /// (and, with `partial_writes`, our own unfinished atomic writes: only while no write runs).
    pub fn remove_partials(&self, partial_writes: bool) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(".tmp") || partial_writes && name.ends_with(".partial") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    /// Frees the segments and run files once the finished file holds them.
    pub fn remove_segments(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                let is_run_file = name.starts_with("run_") || name.starts_with("init");
                if self.parse_segment_name(&name).is_some() || is_run_file {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    /// Removes everything (a stale job whose source changed).
    pub fn wipe(&self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_temp_names_are_not_segments() {
        let d = JobDir { path: "/x".into(), container: Container::Ts };
        assert_eq!(d.segment(7), PathBuf::from("/x/seg_00007.ts"));
        assert_eq!(d.parse_segment_name("seg_00007.ts"), Some(7));
        assert_eq!(d.parse_segment_name("seg_00007.ts.tmp"), None);
        assert_eq!(d.parse_segment_name("seg_7.ts"), None);
        assert_eq!(d.parse_segment_name("seg_00007.m4s"), None);
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("job.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
    }
}
