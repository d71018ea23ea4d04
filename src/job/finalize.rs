//! Making the saved file: every segment concatenated (the init section first for fMP4) into a
//! temp file beside the final name, verified from the bytes as they pass, fsynced and renamed
//! into place; then the segments are freed and the job serves byte ranges of that file.

use super::Job;
use crate::error::{Error, Result};
use crate::inspect::Inspector;
use crate::store::Manifest;
use crate::timeline::Container;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

impl Job {
    /// Concatenates init + segments into a temp file beside the final name, reading what passes
    /// through with an [`Inspector`] and checking it against the plan (codec, size, every
    /// segment's place, duration); returns the byte offsets (one per piece plus the end). A file
    /// that fails the check is removed.
    pub(super) fn assemble(&self) -> Result<Vec<u64>> {
        let dir = self.final_path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        let tmp = self.temp_final_path();
        let mut out = std::fs::File::create(&tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
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
            inspector
                .finish()
                .and_then(|i| i.check(&self.plan.timeline, p.codec.name(), p.width, p.height))
                .map_err(unverified)?;
            out.sync_all().map_err(|e| Error::io("cannot write", &tmp, e))
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(offsets)
    }

    pub(super) fn temp_final_path(&self) -> PathBuf {
        let name = self.final_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.final_path.with_file_name(format!(".{name}.partial"))
    }

    /// Renames the verified file into place, records its offsets and frees the segments.
    pub(super) fn publish(&self, offsets: Vec<u64>) -> Result<()> {
        let tmp = self.temp_final_path();
        std::fs::rename(&tmp, &self.final_path).map_err(|e| Error::io("cannot rename into", &self.final_path, e))?;
        let manifest = Manifest {
            final_path: Some(self.final_path.clone()),
            final_offsets: offsets.clone(),
            ..self.manifest.clone()
        };
        self.dir.write_manifest(&manifest)?;
        self.update(|l| {
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

/// A finished file that does not hold what was planned: the error that keeps it from being saved.
fn unverified(why: String) -> Error {
    Error::ffmpeg(format!("finished file failed verification: {why}"))
}
