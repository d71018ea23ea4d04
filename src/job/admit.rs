//! Which segments on disk a job trusts. A segment is served or saved only once the verifier has
//! read it: whole packets, decodable on its own (its parameter sets, or an init section equal to
//! the job's), exactly the source frames of its span (once the source's frames are read) and
//! audio without a hole. A segment that fails is deleted, and the job makes it again. (A killed
//! run's last complete segment is whole: without B-frames every audio packet shown before the
//! next keyframe is muxed before it.)

use super::Job;
use crate::inspect::{Expect, Inspector, Piece};
use crate::store::names;
use crate::timeline::Container;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Reads one piece through an inspector already fed what precedes it.
fn feed_file(inspector: &mut Inspector, path: &Path) -> Result<(), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let got = f.read(&mut chunk).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if got == 0 {
            break;
        }
        inspector.feed(&chunk[..got])?;
    }
    inspector.end_piece()
}

impl Job {
    /// What the job expects of its segments, with the source's frames once they are read.
    pub(super) fn expect<'a>(&'a self, frames: Option<&'a [f64]>) -> Expect<'a> {
        Expect {
            timeline: &self.plan.timeline,
            frames,
            audio: self.plan.audio.is_some(),
            presentation_times: self.dir.container == Container::Ts,
        }
    }

    /// The source's frames, once read.
    pub(crate) fn frames(&self) -> Option<Arc<[f64]>> {
        self.frames.get().and_then(|f| f.as_ref().ok()).cloned()
    }

    /// Reads segment `k` (behind the job's init section for fMP4) and checks it; returns its
    /// size, or why it is not to be trusted.
    fn verify(&self, k: u32, run_init: Option<&Path>) -> Result<u64, String> {
        let mut inspector = Inspector::new(self.dir.container);
        if self.dir.container == Container::Mp4 {
            let init = self.dir.init();
            // Every run writes its own init section: its segments play behind the job's only
            // if they are the same.
            if let Some(own) = run_init.filter(|p| p.is_file()) {
                if std::fs::read(own).ok() != std::fs::read(&init).ok() {
                    return Err(format!("its run's init section {} differs from the job's", own.display()));
                }
            }
            feed_file(&mut inspector, &init)?;
        }
        let path = self.dir.segment(k);
        let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        if size == 0 {
            return Err("it is empty".into());
        }
        feed_file(&mut inspector, &path)?;
        let piece: Piece = inspector.finish()?.pieces.into_iter().flatten().next_back().ok_or("it holds no video")?;
        let frames = self.frames();
        let expect = self.expect(frames.as_deref());
        let known = self.live.lock().output.offset;
        let offset =
            known.or_else(|| expect.offset_of(k, &piece)).unwrap_or_else(|| piece.first - self.plan.timeline.start(k));
        expect.check_piece(k, &piece, offset)?;
        // The file's own offset from the source's clock is the job's once frames confirm it.
        if known.is_none() && frames.is_some() {
            self.live.lock().output.offset = Some(offset);
        }
        Ok(size)
    }

    /// Admits segment `k` if it verifies (marking it ready), else deletes it; `run_first` is the
    /// first segment of the run that wrote it, whose init section it was made with.
    pub(super) fn admit(&self, k: u32, run_first: Option<u32>) -> bool {
        let run_init = run_first.map(|f| self.dir.path.join(names::run_init(f)));
        match self.verify(k, run_init.as_deref()) {
            Ok(size) => {
                self.update(|l| l.mark_ready(&self.plan.timeline, [(k, size)]));
                true
            }
            Err(why) => {
                self.reject(k, &why);
                self.live.lock().encoder.rejected = Some((k, why));
                false
            }
        }
    }

    /// Deletes segment `k` and forgets it: the job makes it again.
    pub(super) fn reject(&self, k: u32, why: &str) {
        tracing::warn!(job = %self.id, segment = k, "segment discarded: {why}");
        let _ = std::fs::remove_file(self.dir.segment(k));
        self.update(|l| l.forget(&self.plan.timeline, k));
    }

    /// Ends the job's work if its source is no longer the file its segments were made from
    /// (replaced, rewritten, gone): every segment is discarded, none may be mixed with the new
    /// file's; the next request starts a job for the file as it is.
    pub(super) fn check_source(&self) -> crate::error::Result<()> {
        let Some(why) = self.manifest.identity.as_ref().and_then(|id| id.changed(&self.plan.input)) else {
            return Ok(());
        };
        tracing::warn!(job = %self.id, "{why}: its segments are discarded");
        self.dir.wipe();
        self.update(|l| {
            let count = self.plan.timeline.count();
            l.output.segments = crate::segments::SegmentSet::new(count);
            l.output.sizes = vec![0; count as usize];
            l.output.peak = None;
        });
        Err(crate::error::Error::bad_input(why))
    }

    /// Verifies every segment found on disk (after a restart), admitting the good ones.
    pub(super) fn admit_found(&self) {
        for k in self.dir.scan_segments(self.plan.timeline.count()) {
            self.admit(k, None);
        }
    }
}
