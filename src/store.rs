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
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir, path)?;
    tmp.1.write_all(bytes).and_then(|_| tmp.1.sync_all()).map_err(|e| Error::io("cannot write", &tmp.0, e))?;
    std::fs::rename(&tmp.0, path).map_err(|e| Error::io("cannot rename into", path, e))
}

/// The longest file name ext4, XFS, Btrfs and most others take, in bytes.
const NAME_MAX: usize = 255;

/// What [`tempfile_in`]'s name adds to its target's: `.`, `.`, 16 hex digits, `.partial`.
const TEMP_EXTRA: usize = 26;

/// A file name of `stem` followed by `suffix`, the stem shortened (on a character boundary
/// when it is UTF-8; its bytes are kept as they are when not) so that the name and its temp
/// name both fit the file system (a 232-byte title failed with `File name too long` after the
/// whole encode).
pub(crate) fn fitting_name(stem: &std::ffi::OsStr, suffix: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let room = NAME_MAX - TEMP_EXTRA - suffix.len().min(NAME_MAX - TEMP_EXTRA);
    let bytes = stem.as_bytes();
    let mut end = bytes.len().min(room);
    if let Some(text) = stem.to_str() {
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    let kept = &bytes[..end];
    let kept = &kept[..kept.len() - kept.iter().rev().take_while(|b| b.is_ascii_whitespace()).count()];
    let mut name = kept.to_vec();
    name.extend_from_slice(suffix.as_bytes());
    std::ffi::OsString::from_vec(name)
}

/// A new temp file beside `target`: a random name, created exclusively (never an existing file
/// or a planted link), readable by this user only.
pub(crate) fn tempfile_in(dir: &Path, target: &Path) -> Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = target.file_name().unwrap_or_default();
    let tmp = dir.join(temp_name(name, rand::random::<u64>()));
    debug_assert_eq!(tmp.file_name().map(|n| n.len()), Some(name.len() + TEMP_EXTRA));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| Error::io("cannot create", &tmp, e))?;
    Ok((tmp, file))
}

/// The cache folder's own files.
pub(crate) mod cache_files {
    /// The lock one engine holds on the cache folder.
    pub(crate) const LOCK: &str = ".lock";
    /// The salt of job ids (private: ids must not be guessable).
    pub(crate) const SALT: &str = ".salt";
    /// `auto`'s backend choice for the configured ffmpeg.
    pub(crate) const CAPS: &str = ".caps.json";
}

/// Creates the cache folder private to this user (job ids name its folders), and the folder for
/// finished files, and checks that both take new files: before any encode, not after one.
pub(crate) fn prepare_folders(cache_dir: &Path, final_dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for dir in [cache_dir, final_dir] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    }
    std::fs::set_permissions(cache_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("cannot make private", cache_dir, e))?;
    for dir in [cache_dir, final_dir] {
        let (probe, _) = tempfile_in(dir, Path::new("writable")).map_err(|e| {
            Error::new(e.code, format!("the folder {} takes no new files: {}", dir.display(), e.message))
        })?;
        let _ = std::fs::remove_file(probe);
    }
    Ok(())
}

/// Takes the cache folder's lock file, so a second engine on the same folder refuses instead
/// of two of them writing the same segments.
pub(crate) fn lock_cache(cache_dir: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let path = cache_dir.join(cache_files::LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("cannot open", &path, e))?;
    // SAFETY: flock on a descriptor we own; released when the file is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(Error::new(
            crate::ErrorCode::Busy,
            format!("cache folder {} is in use by another engine", cache_dir.display()),
        ));
    }
    Ok(file)
}

/// The salt of this cache's job ids, made once (readable by this user only).
pub(crate) fn load_salt(cache_dir: &Path) -> Result<[u8; 16]> {
    use std::os::unix::fs::PermissionsExt;
    let path = cache_dir.join(cache_files::SALT);
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(salt) = <[u8; 16]>::try_from(bytes.as_slice()) {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            return Ok(salt);
        }
    }
    let salt: [u8; 16] = rand::random();
    write_atomic(&path, &salt)?;
    Ok(std::fs::read(&path).ok().and_then(|b| b.try_into().ok()).unwrap_or(salt))
}

/// The names of the files inside a job's folder, spelled in this one place: the job reads them
/// and ffmpeg is told them (relative: every run is started inside the folder).
pub(crate) mod names {
    use crate::timeline::Container;

    /// Complete segment `k`.
    pub(crate) fn segment(k: u32, container: Container) -> String {
        format!("seg_{k:05}.{}", container.segment_ext())
    }
    /// The pattern ffmpeg numbers segments with (`%05d`, as [`segment`] spells them).
    pub(crate) fn segment_pattern(container: Container) -> String {
        format!("seg_%05d.{}", container.segment_ext())
    }
    /// The segment muxer writes in place: a copy run's segments get [`segment`]'s name only
    /// once complete.
    pub(crate) const COPY_PATTERN: &str = "seg_%05d.ts.tmp";
    /// Suffix of a file being written (ffmpeg's temp files, a copy run's segment in progress).
    pub(crate) const TEMP_SUFFIX: &str = ".tmp";
    /// The playlist ffmpeg keeps for the run that starts at `first` (never served).
    pub(crate) fn run_playlist(first: u32) -> String {
        format!("run_{first}.m3u8")
    }
    /// The fMP4 init section written by the run that starts at `first`.
    pub(crate) fn run_init(first: u32) -> String {
        format!("init_{first}.mp4")
    }
    /// A run's own playlist or init section (what [`run_playlist`] and [`run_init`] name).
    pub(crate) fn is_run_file(name: &str) -> bool {
        (name.starts_with("run_") && name.ends_with(".m3u8")) || (name.starts_with("init_") && name.ends_with(".mp4"))
    }
    /// The fMP4 init section every segment is served with.
    pub(crate) const INIT: &str = "init.mp4";
    /// ffmpeg's stderr for the run that started at `first`.
    pub(crate) fn log(first: u32) -> String {
        format!("ffmpeg-{first}.log")
    }
    /// The manifest.
    pub(crate) const MANIFEST: &str = "job.json";
    /// The source's frame times, read once (little-endian f64 seconds, ascending).
    pub(crate) const FRAMES: &str = "frames.bin";
    /// Present while the job stands cancelled by its user: a restarted engine lists it
    /// cancelled and does not resume it; the next start of it removes it.
    pub(crate) const CANCELLED: &str = "cancelled";

    /// Segment index of a file name, if it is a complete segment of this container.
    pub(crate) fn parse_segment(name: &str, container: Container) -> Option<u32> {
        let rest = name.strip_prefix("seg_")?.strip_suffix(container.segment_ext())?.strip_suffix('.')?;
        (rest.len() == 5 && rest.bytes().all(|b| b.is_ascii_digit())).then(|| rest.parse().ok())?
    }
}

/// A finished file or a job folder that cleanup may delete.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its size (a folder: the sum of its files).
    pub(crate) bytes: u64,
    /// Its last change (a folder: its newest file's).
    pub(crate) modified: std::time::SystemTime,
}

/// What cleanup deletes: everything older than `max_age`, then the oldest until the total fits
/// `max_bytes`; protected entries (jobs in use) are never chosen but count toward the size.
/// Oldest first.
pub(crate) fn select_for_cleanup(
    mut entries: Vec<Stored>,
    protected: impl Fn(&Stored) -> bool,
    now: std::time::SystemTime,
    max_age: Option<std::time::Duration>,
    max_bytes: Option<u64>,
) -> Vec<Stored> {
    entries.sort_by_key(|e| e.modified);
    let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
    let mut chosen = Vec::new();
    for e in entries {
        if protected(&e) {
            continue;
        }
        let too_old = max_age.is_some_and(|age| now.duration_since(e.modified).is_ok_and(|d| d > age));
        let over_budget = max_bytes.is_some_and(|max| total > max);
        if too_old || over_budget {
            total -= e.bytes;
            chosen.push(e);
        }
    }
    chosen
}

/// What is stored: every file in `final_dir` and every job folder in `cache_dir`.
pub(crate) fn stored(cache_dir: &Path, final_dir: &Path) -> Vec<Stored> {
    fn walk(path: &Path, bytes: &mut u64, newest: &mut std::time::SystemTime) {
        let Ok(entries) = std::fs::read_dir(path) else { return };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                walk(&e.path(), bytes, newest);
            } else {
                *bytes += m.len();
                *newest = (*newest).max(m.modified().unwrap_or(std::time::UNIX_EPOCH));
            }
        }
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(final_dir).into_iter().flatten().flatten() {
        if let Some(m) = e.metadata().ok().filter(|m| m.is_file()) {
            out.push(Stored {
                path: e.path(),
                bytes: m.len(),
                modified: m.modified().unwrap_or(std::time::UNIX_EPOCH),
            });
        }
    }
    for path in job_folders(cache_dir).filter(|p| p != final_dir) {
        let (mut bytes, mut newest) = (0, path.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH));
        walk(&path, &mut bytes, &mut newest);
        out.push(Stored { path, bytes, modified: newest });
    }
    out
}

/// The job folders in `cache_dir`: those named by a job id (32 characters).
fn job_folders(cache_dir: &Path) -> impl Iterator<Item = PathBuf> {
    std::fs::read_dir(cache_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().len() == 32 && e.metadata().is_ok_and(|m| m.is_dir()))
        .map(|e| e.path())
}

/// The job folders in `cache_dir` made from `input` as it no longer is (its size or time
/// differ from `size` and `mtime_ns`, the file's now), with their finished files: a changed
/// source gets a new job, so nothing can ask for these again. A source that is missing (a
/// share not mounted) supersedes nothing: this is asked with the file as it is now.
pub(crate) fn superseded(cache_dir: &Path, input: &Path, size: u64, mtime_ns: i128) -> Vec<(PathBuf, Option<PathBuf>)> {
    job_folders(cache_dir)
        .filter_map(|path| {
            let m = JobDir { path: path.clone(), container: Container::Ts }.read_manifest()?;
            (m.input == input && (m.source_size, m.source_mtime_ns) != (size, mtime_ns)).then_some((path, m.final_path))
        })
        .collect()
}

/// [`tempfile_in`]'s name for a temp file of `target` (a file name).
fn temp_name(target: &std::ffi::OsStr, random: u64) -> std::ffi::OsString {
    let mut name = std::ffi::OsString::from(".");
    name.push(target);
    name.push(format!(".{random:016x}.partial"));
    name
}

/// The file name a [`temp_name`] stands for.
fn temp_target(name: &std::ffi::OsStr) -> Option<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    let rest = name.as_bytes().strip_prefix(b".")?.strip_suffix(b".partial")?;
    let (target, random) = rest.split_at(rest.len().checked_sub(17)?);
    let random_ok = random[0] == b'.' && random[1..].iter().all(u8::is_ascii_hexdigit);
    (random_ok && !target.is_empty()).then(|| std::ffi::OsStr::from_bytes(target))
}

/// A temp file not written for this long is no live save's.
pub(crate) const DEAD_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes the temp files that saving a finished file left in `dir` when it was killed before
/// its rename (the engine's process ended mid-way): every one for `target`, whose job is the
/// only writer, and any other not written for `stale` (a live one is written to all along).
/// Returns how many went.
pub(crate) fn remove_dead_temps(dir: &Path, target: Option<&Path>, stale: std::time::Duration) -> usize {
    let own = target.and_then(|t| t.file_name());
    let mut removed = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(of) = temp_target(&name).filter(|_| e.file_type().is_ok_and(|t| t.is_file())) else { continue };
        let mine = own == Some(of);
        let idle =
            e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|d| d > stale);
        if (mine || idle) && std::fs::remove_file(e.path()).is_ok() {
            tracing::info!(path = %e.path().display(), "removed what a killed save left");
            removed += 1;
        }
    }
    removed
}

/// Deletes a stored entry (a folder with everything in it).
pub(crate) fn delete(entry: &Stored) -> Result<()> {
    let result =
        if entry.path.is_dir() { std::fs::remove_dir_all(&entry.path) } else { std::fs::remove_file(&entry.path) };
    result.map_err(|e| Error::io("cannot delete", &entry.path, e))
}

/// What `job.json` records: enough to recognise the job after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Source path.
    #[serde(with = "crate::os_path")]
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
    #[serde(with = "crate::os_path::option", default)]
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
    /// The source file as the job's segments were made from it: every run and the saving check
    /// it is still that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::identity::SourceIdentity>,
    /// The finished file as it was saved: it is reused or served only while it still is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_identity: Option<crate::identity::SourceIdentity>,
}

/// A job's working folder.
#[derive(Debug, Clone)]
pub(crate) struct JobDir {
    /// The folder.
    pub path: PathBuf,
    /// Segment container.
    pub container: Container,
}

impl JobDir {
    /// Whether the folder's file system is out of room: fewer free bytes than `need` (ffmpeg's
    /// own message about it may not have reached its log on the same full disk).
    pub(crate) fn is_full(&self, need: u64) -> bool {
        let Ok(c) = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is NUL-terminated and `st` is a writable statvfs.
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return false;
        }
        (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) < need
    }

    /// Path of complete segment `k`.
    pub(crate) fn segment(&self, k: u32) -> PathBuf {
        self.path.join(names::segment(k, self.container))
    }
    /// Segment index of a file name written by ffmpeg, if it is a complete segment.
    pub(crate) fn parse_segment_name(&self, name: &str) -> Option<u32> {
        names::parse_segment(name, self.container)
    }
    /// The fMP4 init section every segment is served with.
    pub(crate) fn init(&self) -> PathBuf {
        self.path.join(names::INIT)
    }
    /// ffmpeg's stderr for the run that started at `first`.
    pub(crate) fn log(&self, first: u32) -> PathBuf {
        self.path.join(names::log(first))
    }
    /// The manifest.
    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.path.join(names::MANIFEST)
    }
    /// Reads the manifest, if there is a readable one.
    pub(crate) fn read_manifest(&self) -> Option<Manifest> {
        serde_json::from_slice(&std::fs::read(self.manifest_path()).ok()?).ok()
    }
    /// Writes the manifest atomically.
    pub(crate) fn write_manifest(&self, m: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::new(crate::ErrorCode::Internal, e.to_string()))?;
        write_atomic(&self.manifest_path(), &bytes)
    }
    /// The source's frame times kept beside the segments, if there are.
    pub(crate) fn read_frames(&self) -> Option<Vec<f64>> {
        let bytes = std::fs::read(self.path.join(names::FRAMES)).ok()?;
        let frames: Vec<f64> =
            bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())).collect();
        let sane = bytes.len() % 8 == 0 && !frames.is_empty() && frames.windows(2).all(|w| w[0] <= w[1]);
        sane.then_some(frames)
    }
    /// Keeps the source's frame times beside the segments (atomically).
    pub(crate) fn write_frames(&self, frames: &[f64]) -> Result<()> {
        let bytes: Vec<u8> = frames.iter().flat_map(|f| f.to_le_bytes()).collect();
        write_atomic(&self.path.join(names::FRAMES), &bytes)
    }
    /// Complete segments on disk (indices below `count`).
    pub(crate) fn scan_segments(&self, count: u32) -> Vec<u32> {
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
    pub(crate) fn complete_copied(&self, k: u32) {
        let segment = self.segment(k);
        let mut tmp = segment.clone().into_os_string();
        tmp.push(names::TEMP_SUFFIX);
        let _ = std::fs::rename(tmp, segment);
    }
    /// Segments written under a `.tmp` name (a copy run's, or a killed ffmpeg's).
    pub(crate) fn temp_segments(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir(&self.path) else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|e| self.parse_segment_name(e.file_name().to_string_lossy().strip_suffix(names::TEMP_SUFFIX)?))
            .collect()
    }
    /// Removes what a killed ffmpeg leaves behind: half-written `.tmp` segments and playlists
    /// (and, with `partial_writes`, our own unfinished atomic writes: only while no write runs).
    pub(crate) fn remove_partials(&self, partial_writes: bool) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(names::TEMP_SUFFIX) || partial_writes && name.ends_with(".partial") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    /// Frees the segments and run files once the finished file holds them.
    pub(crate) fn remove_segments(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if self.parse_segment_name(&name).is_some() || names::is_run_file(&name) || name == names::INIT {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    /// Records whether the job stands cancelled by its user (best effort: without the record
    /// a restarted engine lists it paused).
    pub(crate) fn set_cancelled(&self, cancelled: bool) {
        let marker = self.path.join(names::CANCELLED);
        let _ = if cancelled { std::fs::write(marker, b"") } else { std::fs::remove_file(marker) };
    }
    /// Whether the job stood cancelled by its user.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.path.join(names::CANCELLED).is_file()
    }
    /// Removes everything (a stale job whose source changed).
    pub(crate) fn wipe(&self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_stand_for_their_target_and_nothing_else_is_one() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let target = OsStr::new("Film - Upscaled 1080p h264 [abcd1234].ts");
        let name = temp_name(target, 0xfeed);
        assert_eq!(name, ".Film - Upscaled 1080p h264 [abcd1234].ts.000000000000feed.partial");
        assert_eq!(temp_target(&name), Some(target));
        let latin1 = OsStr::from_bytes(b"caf\xe9 - Upscaled 720p h264 [abcd1234].ts");
        assert_eq!(temp_target(&temp_name(latin1, 7)), Some(latin1));
        for other in [
            "notes.partial",
            ".a.partial",
            ".a.0123.partial",
            ".a.0123456789abcdeg.partial",
            "..0123456789abcdef.partial",
            "a.0123456789abcdef.partial",
        ] {
            assert_eq!(temp_target(OsStr::new(other)), None, "{other}");
        }
    }

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
    fn cleanup_takes_the_too_old_then_the_oldest_over_budget_and_never_the_protected() {
        let t = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        let e = |name: &str, bytes, at| Stored { path: name.into(), bytes, modified: t(at) };
        let all = vec![e("new", 10, 900), e("old", 10, 100), e("busy", 50, 50), e("mid", 40, 500)];
        let names = |v: Vec<Stored>| v.into_iter().map(|s| s.path.to_string_lossy().into_owned()).collect::<Vec<_>>();
        let day = std::time::Duration::from_secs(600);
        let now = t(1000);
        assert_eq!(names(select_for_cleanup(all.clone(), |_| false, now, Some(day), None)), ["busy", "old"]);
        // 110 bytes, 60 allowed: "busy" (the oldest) stays, so "old" and "mid" go.
        let busy = |s: &Stored| s.path == Path::new("busy");
        assert_eq!(names(select_for_cleanup(all.clone(), busy, now, None, Some(60))), ["old", "mid"]);
        assert!(select_for_cleanup(all, |_| false, now, None, None).is_empty(), "no limit, nothing goes");
    }

    #[test]
    fn long_names_are_shortened_on_a_character_boundary_to_fit_with_their_temp_name() {
        let suffix = " - Upscaled 2160p hevc [0123abcd].mp4";
        let fit = |stem: &str| fitting_name(stem.as_ref(), suffix).into_string().unwrap();
        assert_eq!(fit("Film (1999)"), format!("Film (1999){suffix}"));
        let cjk = "長".repeat(71);
        let name = fit(&cjk);
        assert_eq!(name.len(), 3 * 64 + suffix.len(), "{name}");
        assert!(name.len() + TEMP_EXTRA <= NAME_MAX && name.ends_with(suffix));
        assert_eq!(fit(&"a".repeat(232)).len(), NAME_MAX - TEMP_EXTRA);
        use std::os::unix::ffi::OsStrExt;
        let latin1 = fitting_name(std::ffi::OsStr::from_bytes(b"Caf\xe9 "), suffix);
        assert_eq!(latin1.as_bytes(), [&b"Caf\xe9"[..], suffix.as_bytes()].concat(), "its bytes kept");
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join(fitting_name(cjk.as_ref(), suffix));
        let (tmp, _) = tempfile_in(dir.path(), &long).unwrap();
        std::fs::rename(&tmp, &long).expect("the temp name and the name both fit");
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
