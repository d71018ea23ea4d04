//! What the engine learns about sources, once per (path, size, mtime): ffprobe's answer and the
//! keyframe index, read in the background and cached for every later request; and the check of
//! a caller's description against ffprobe.

use super::EngineHandle;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::keyframes::{self, Keyframes};
use crate::probe::{self, MediaInfo};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};

/// Entries kept per cache before it is cleared.
const CACHE_SIZE: usize = 1024;

/// A source as the caches know it: its path, size, mtime (ns) and inode, so a changed file (or
/// another renamed over it, even with the old size and mtime) is a new key.
pub(crate) type SourceKey = (PathBuf, u64, u128, u64);

/// The cache key of a source as it is now on disk.
pub(crate) fn source_key(input: &Path) -> Option<SourceKey> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(input).ok()?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Some((input.to_path_buf(), m.len(), mtime, m.ino()))
}

/// Values per source, bounded.
pub(crate) struct SourceCache<T>(Mutex<HashMap<SourceKey, T>>);

impl<T> Default for SourceCache<T> {
    fn default() -> Self {
        SourceCache(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> SourceCache<T> {
    pub(crate) fn get(&self, key: &SourceKey) -> Option<T> {
        self.0.lock().get(key).cloned()
    }

    pub(crate) fn put(&self, key: SourceKey, value: T) {
        let mut cache = self.0.lock();
        // Bounded: forget everything rather than grow without end.
        if cache.len() >= CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, value);
    }
}

/// A packet pass over a source, shared by everyone who waits for it.
type Scan = Arc<tokio::sync::OnceCell<std::result::Result<Arc<Keyframes>, Error>>>;

/// The engine's knowledge of sources.
#[derive(Default)]
pub(crate) struct Sources {
    pub(crate) probes: SourceCache<MediaInfo>,
    /// Keyframe and frame indexes of sources.
    pub(crate) keyframes: SourceCache<Arc<Keyframes>>,
    /// Packet passes under way: a second asker waits for the first's.
    scans: Mutex<HashMap<SourceKey, Scan>>,
}

impl EngineHandle {
    /// ffprobe's result for a source if it is cached for its current (size, mtime).
    pub(crate) fn cached_probe(&self, input: &Path) -> Option<MediaInfo> {
        self.shared.sources.probes.get(&source_key(input)?)
    }

    /// Probes a source once per (path, size, mtime): a second viewer joins without an ffprobe.
    /// Until ffprobe's result is cached, a caller's description stands in for it.
    pub(crate) async fn probe_cached(&self, input: &Path, described: Option<&MediaInfo>) -> Result<MediaInfo> {
        let key = source_key(input);
        if let Some(hit) = key.as_ref().and_then(|k| self.shared.sources.probes.get(k)) {
            return Ok(hit);
        }
        if let Some(media) = described {
            return Ok(media.clone());
        }
        let media = probe::probe(self.ffprobe(), input).await?;
        if let Some(k) = key {
            self.shared.sources.probes.put(k, media.clone());
        }
        Ok(media)
    }

    /// The packet index of a source's video stream (keyframes and every frame's time), read
    /// once per (path, size, mtime) by one ffprobe pass however many ask at once.
    pub(crate) async fn scan_once(&self, input: &Path) -> Result<Arc<Keyframes>> {
        let key = source_key(input).ok_or_else(|| Error::bad_input(format!("input not found: {}", input.display())))?;
        // An index restored from a manifest has no frame times: that one is read again.
        if let Some(hit) = self.shared.sources.keyframes.get(&key).filter(|k| !k.frames.is_empty()) {
            return Ok(hit);
        }
        let cell = self.shared.sources.scans.lock().entry(key.clone()).or_default().clone();
        let read = cell.get_or_init(|| async { keyframes::scan(self.ffprobe(), input).await.map(Arc::new) }).await;
        let read = read.clone();
        self.shared.sources.scans.lock().remove(&key);
        if let Ok(index) = &read {
            self.shared.sources.keyframes.put(key, index.clone());
        }
        read
    }

    /// Reads the source's frames for a job's verifier in the background; the job (and its
    /// rungs) get them, or why they could not be read.
    pub(crate) fn read_frames_for(&self, job: &Arc<Job>) {
        if job.frames().is_some() {
            return;
        }
        let (this, job, input) = (self.clone(), job.clone(), job.plan().input.clone());
        tokio::spawn(async move {
            let read = this.scan_once(&input).await.map(|k| k.frames.clone());
            if let Err(e) = &read {
                tracing::warn!(job = %job.id(), "cannot read the source's frames: {}", e.message);
            }
            job.set_frames(read);
        });
    }

    /// The keyframe index of a source's video stream, read once per (path, size, mtime) and
    /// waited for at most `keyframe_read_seconds`: a longer read goes on and is cached.
    pub(crate) async fn keyframes_cached(&self, input: &Path) -> Result<Arc<Keyframes>> {
        let key = source_key(input);
        if let Some(hit) = key.as_ref().and_then(|k| self.shared.sources.keyframes.get(k)) {
            return Ok(hit);
        }
        let (this, path) = (self.clone(), input.to_path_buf());
        let read = tokio::spawn(async move { this.scan_once(&path).await });
        let budget = self.shared.config.keyframe_read_seconds;
        match tokio::time::timeout(Duration::from_secs(budget), read).await {
            Ok(Ok(read)) => read,
            Ok(Err(panicked)) => Err(Error::new(ErrorCode::Internal, format!("keyframe read: {panicked}"))),
            Err(_) => Err(Error::bad_input(format!("reading the keyframes takes over {budget} s (it goes on)"))),
        }
    }

    /// Checks with ffprobe the description a job was planned from; the job fails if the file
    /// contradicts it (or is no usable video). ffprobe's result is cached either way, so the
    /// next request plans from it.
    pub(crate) async fn check_description(
        &self,
        input: PathBuf,
        described: MediaInfo,
        job: tokio::sync::oneshot::Receiver<Weak<Job>>,
    ) -> Result<()> {
        let result = self.probe_cached(&input, None).await.and_then(|truth| match described.contradicts(&truth) {
            Some(d) => Err(Error::bad_input(format!("the request's media does not match the file: {d}"))),
            None => Ok(()),
        });
        if let (Err(e), Some(job)) = (&result, job.await.ok().and_then(|j| j.upgrade())) {
            tracing::warn!(job = %job.id(), "{}", e.message);
            job.fail(e.clone());
        }
        result
    }
}
