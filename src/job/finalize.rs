//! Making the saved file: every segment concatenated (the init section first for fMP4) into a
//! temp file beside the final name, verified from the bytes as they pass, fsynced and renamed
//! into place; then the segments are freed and the job serves byte ranges of that file.

use super::Job;
use crate::error::{Error, Result};
use crate::identity::SourceIdentity;
use crate::inspect::Inspector;
use crate::store::{JobDir, Manifest};
use crate::timeline::Container;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What assembling the finished file came to.
pub(super) enum Assembled {
    /// A verified temp file beside the final name, and the byte offset of every piece.
    File(PathBuf, Vec<u64>),
    /// These segments failed the verifier and were deleted: the job makes them again.
    Redo(Vec<(u32, String)>),
}

impl Job {
    /// Concatenates init + segments into a new private temp file beside the final name (a
    /// random name, created exclusively, so nothing planted there is written through), reading
    /// what passes with an [`Inspector`] and checking it against the plan and the source's
    /// `frames`: codec, size, every segment's frames, audio across the joins. Segments that
    /// fail are deleted and named; a file that fails is removed.
    pub(super) fn assemble(&self, frames: &[f64]) -> Result<Assembled> {
        let dir = self.final_path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        crate::store::remove_dead_temps(dir, Some(&self.final_path), crate::store::DEAD_TEMP_AGE);
        let (tmp, mut out) = crate::store::tempfile_in(dir, &self.final_path)?;
        let mut pieces: Vec<PathBuf> = Vec::new();
        if self.dir.container == Container::Mp4 {
            pieces.push(self.dir.init());
        }
        pieces.extend((0..self.plan.timeline.count()).map(|k| self.dir.segment(k)));
        let mut offsets = vec![0u64];
        let mut inspector = Inspector::new(self.dir.container);
        let mut chunk = vec![0u8; 256 * 1024];
        let result = (|| {
            for p in &pieces {
                if let Some(e) = self.stopped_with() {
                    return Err(e);
                }
                let mut f = std::fs::File::open(p).map_err(|e| Error::io("cannot open", p, e))?;
                let mut n = 0u64;
                loop {
                    let got = f.read(&mut chunk).map_err(|e| Error::io("cannot read", p, e))?;
                    if got == 0 {
                        break;
                    }
                    out.write_all(&chunk[..got]).map_err(|e| Error::io("cannot write", &tmp, e))?;
                    inspector.feed(&chunk[..got]).map_err(unverified)?;
                    n += got as u64;
                }
                inspector.end_piece().map_err(unverified)?;
                offsets.push(offsets.last().copied().unwrap_or(0) + n);
            }
            let p = &self.plan.profile;
            let bad = inspector
                .finish()
                .and_then(|i| i.check(&self.expect(Some(frames)), p.codec.name(), p.width, p.height))
                .map_err(unverified)?;
            if !bad.is_empty() {
                return Ok(Some(bad));
            }
            out.sync_all().map_err(|e| Error::io("cannot write", &tmp, e))?;
            Ok(None)
        })();
        match result {
            Ok(None) => Ok(Assembled::File(tmp, offsets)),
            Ok(Some(bad)) => {
                let _ = std::fs::remove_file(&tmp);
                for (k, why) in &bad {
                    self.reject(*k, why);
                }
                Ok(Assembled::Redo(bad))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// Renames the verified file into place, records its offsets and frees the segments; a
    /// cancel that came first wins (the file is removed, none appears).
    pub(super) fn publish(&self, tmp: PathBuf, offsets: Vec<u64>) -> Result<()> {
        if let Some(e) = self.stopped_with() {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        if let Err(e) = self.check_source() {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &self.final_path).map_err(|e| Error::io("cannot rename into", &self.final_path, e))?;
        let record = SourceIdentity::of(&self.final_path).map_err(|e| Error::io("cannot read", &self.final_path, e))?;
        let manifest = Manifest {
            final_path: Some(self.final_path.clone()),
            final_offsets: offsets.clone(),
            final_identity: Some(record.clone()),
            ..self.manifest.clone()
        };
        self.dir.write_manifest(&manifest)?;
        self.update(|l| {
            l.output.final_record = Some(record);
            l.sizes_from_offsets(&self.plan.timeline, &offsets, self.dir.container == Container::Mp4);
            l.output.final_offsets = offsets;
        });
        self.dir.remove_segments();
        for r in &self.rungs {
            r.discard_if_idle();
        }
        tracing::info!(job = %self.id, path = %self.final_path.display(), "finished file verified");
        Ok(())
    }
}

impl Job {
    /// Whether the finished file still holds what was saved (its size and the hash of its
    /// ends, as recorded then).
    pub(crate) fn final_intact(&self) -> bool {
        let record = self.live.lock().output.final_record.clone();
        record.is_none_or(|r| r.same_bytes(&self.final_path))
    }

    /// Moves a damaged finished file aside (`NAME.damaged`), so it is neither reused nor
    /// overwritten before someone looks at it.
    pub(crate) fn set_aside_final(&self) {
        set_aside(&self.final_path);
    }
}

/// The finished file an earlier engine saved at `final_path`, from the job's manifest: its
/// pieces' offsets and its record, while it still holds what was saved (a damaged one is set
/// aside: the job is made again).
pub(super) fn saved_final(dir: &JobDir, final_path: &Path) -> Option<(Vec<u64>, Option<SourceIdentity>)> {
    let m = dir.read_manifest()?;
    if m.final_path.as_deref() != Some(final_path) || !final_path.is_file() || m.final_offsets.is_empty() {
        return None;
    }
    if m.final_identity.as_ref().is_some_and(|r| !r.same_bytes(final_path)) {
        set_aside(final_path);
        return None;
    }
    Some((m.final_offsets, m.final_identity))
}

/// Moves a damaged finished file aside, logging why.
pub(super) fn set_aside(path: &Path) {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    tracing::warn!(path = %path.display(), "the finished file no longer holds what was saved: set aside, made again");
    let _ = std::fs::rename(path, aside);
}

/// A finished file that does not hold what was planned: the error that keeps it from being saved.
pub(super) fn unverified(why: String) -> Error {
    Error::ffmpeg(format!("finished file failed verification: {why}"))
}
