//! A job's mutable state, in named parts: what exists on disk, the current encoder run, its
//! progress and the viewers. Plain data under the job's one lock; the rules that read it are in
//! [`super::policy`].

use super::status::JobState;
use crate::error::Error;
use crate::segments::SegmentSet;
use crate::timeline::Timeline;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Everything about a job that changes.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) state: JobState,
    /// Why the job failed or was cancelled.
    pub(crate) error: Option<Error>,
    pub(crate) output: Output,
    pub(crate) encoder: Encoder,
    pub(crate) progress: Progress,
    pub(crate) viewers: Viewers,
    /// Latest adaptations, for status.
    pub(crate) adaptations: VecDeque<String>,
}

/// What the job has made so far.
#[derive(Debug)]
pub(crate) struct Output {
    /// Which segments exist.
    pub(crate) segments: SegmentSet,
    /// Bytes of each segment (0: not there yet), for the measured peak bit rate.
    pub(crate) sizes: Vec<u32>,
    /// The peak bit rate HLS defines over the segments so far.
    pub(crate) peak: Option<u64>,
    /// Where each piece is inside the finished file, once it exists.
    pub(crate) final_offsets: Vec<u64>,
    /// The fMP4 init section exists.
    pub(crate) has_init: bool,
    /// The finished file as saved, to tell whether it still is.
    pub(crate) final_record: Option<crate::identity::SourceIdentity>,
    /// Where the segments' times sit against the source's clock (MPEG-TS's mux delay), once a
    /// segment checked against the source's frames showed it.
    pub(crate) offset: Option<f64>,
}

/// The encoder run, current or last.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// Current run: first segment and exclusive end.
    pub(crate) span: Option<(u32, Option<u32>)>,
    /// The current run encodes at background priority.
    pub(crate) background: bool,
    /// Presets faster than configured that interactive runs use (raised when falling behind).
    pub(crate) speed_step: u32,
    /// Preset of the current or last run.
    pub(crate) preset: String,
    /// The engine asks the encoder to stay stopped (viewers elsewhere need the CPU).
    pub(crate) hold: bool,
    /// The encoder is stopped right now.
    pub(crate) stopped: bool,
    /// The last segment of the current run the verifier threw out, and why.
    pub(crate) rejected: Option<(u32, String)>,
}

/// How fast the current run goes.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) fps: f64,
    /// Encode speed, a multiple of real time.
    pub(crate) speed: f64,
    /// Source position reached, seconds.
    pub(crate) position: f64,
    /// Encode speed smoothed over recent progress reports.
    pub(crate) speed_avg: f64,
}

/// Who watches.
#[derive(Debug)]
pub(crate) struct Viewers {
    /// Last segment a viewer asked for.
    pub(crate) at: Option<u32>,
    /// When a viewer last asked for anything (or the job started).
    pub(crate) last_activity: Instant,
    /// Segment requests waiting right now: a viewer who waits is not idle.
    pub(crate) waiting: u32,
    /// Segment requests since the job last went idle (a rung trusts two as a viewer).
    pub(crate) requests: u32,
    /// When a viewer last asked for a segment of a cheaper rung (upscaled jobs).
    pub(crate) rung_seen: Option<Instant>,
    /// When a viewer last asked for one of this job's segments.
    pub(crate) last_request: Option<Instant>,
}

/// A segment's size as kept for the peak bit rate (no segment comes near 4 GiB).
pub(crate) fn size_u32(bytes: u64) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl Live {
    /// A job's state as found: `segments` on disk with their sizes.
    pub(crate) fn new(state: JobState, t: &Timeline, segments: SegmentSet, sizes: Vec<u32>, preset: String) -> Live {
        Live {
            state,
            error: None,
            output: Output {
                peak: crate::timeline::peak_bitrate(t, &sizes),
                segments,
                sizes,
                final_offsets: Vec::new(),
                has_init: false,
                final_record: None,
                offset: None,
            },
            encoder: Encoder { preset, ..Encoder::default() },
            progress: Progress::default(),
            viewers: Viewers {
                at: None,
                last_activity: Instant::now(),
                waiting: 0,
                requests: 0,
                rung_seen: None,
                last_request: None,
            },
            adaptations: VecDeque::new(),
        }
    }

    /// Marks segments ready with their sizes and updates the peak bit rate they make.
    pub(crate) fn mark_ready(&mut self, t: &Timeline, segments: impl IntoIterator<Item = (u32, u64)>) {
        let o = &mut self.output;
        for (k, bytes) in segments {
            if o.segments.mark(k) {
                o.sizes[k as usize] = size_u32(bytes);
            }
        }
        o.peak = crate::timeline::peak_bitrate(t, &o.sizes);
    }

    /// Forgets segment `k` (it was deleted).
    pub(crate) fn forget(&mut self, t: &Timeline, k: u32) {
        let o = &mut self.output;
        if o.segments.unmark(k) {
            o.sizes[k as usize] = 0;
            o.peak = crate::timeline::peak_bitrate(t, &o.sizes);
        }
    }

    /// Segment sizes from a finished file's piece offsets (an fMP4 init section first).
    pub(crate) fn sizes_from_offsets(&mut self, t: &Timeline, offsets: &[u64], has_init_piece: bool) {
        let skip = usize::from(has_init_piece);
        let o = &mut self.output;
        o.sizes = offsets.windows(2).skip(skip).map(|w| size_u32(w[1] - w[0])).collect();
        o.peak = crate::timeline::peak_bitrate(t, &o.sizes);
    }

    /// No viewer asked anything for `idle` and none is waiting.
    pub(crate) fn idle_for(&self, idle: Duration) -> bool {
        self.viewers.waiting == 0 && self.viewers.last_activity.elapsed() > idle
    }
}
