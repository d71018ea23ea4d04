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

/// A source as the caches know it: its path, size and mtime (ns), so a changed file is a new key.
pub(crate) type SourceKey = (PathBuf, u64, u128);

/// The cache key of a source as it is now on disk.
pub(crate) fn source_key(input: &Path) -> Option<SourceKey> {
    let m = std::fs::metadata(input).ok()?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Some((input.to_path_buf(), m.len(), mtime))
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

/// The engine's knowledge of sources.
#[derive(Default)]
pub(crate) struct Sources {
    pub(crate) probes: SourceCache<MediaInfo>,
    /// Keyframe indexes of sources whose fallback may be a stream copy.
    pub(crate) keyframes: SourceCache<Arc<Keyframes>>,
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

    /// The keyframe index of a source's video stream, read once per (path, size, mtime) and
    /// waited for at most `keyframe_read_seconds`: a longer read goes on and is cached.
    pub(crate) async fn keyframes_cached(&self, input: &Path) -> Result<Arc<Keyframes>> {
        let key = source_key(input);
        if let Some(hit) = key.as_ref().and_then(|k| self.shared.sources.keyframes.get(k)) {
            return Ok(hit);
        }
        let (this, path) = (self.clone(), input.to_path_buf());
        let read = tokio::spawn(async move {
            let index = Arc::new(keyframes::scan(this.ffprobe(), &path).await?);
            if let Some(k) = key {
                this.shared.sources.keyframes.put(k, index.clone());
            }
            Ok::<_, Error>(index)
        });
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
