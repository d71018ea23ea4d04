//! The job's status as callers see it: the JSON contract of `jellyscale_status`, the CLI's
//! `--json` lines and the plugin's typed mirror of it.

use crate::error::Error;
use crate::timeline::Container;
use serde::Serialize;
use std::path::PathBuf;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Found unfinished on disk at engine start; waits for a start (or a segment request).
    Paused,
    /// Waiting for an encoder slot.
    Queued,
    /// An ffmpeg run is encoding segments.
    Running,
    /// Every segment exists; the finished file is being assembled and verified.
    Finalizing,
    /// The verified finished file exists.
    Done,
    /// Stopped by an error (see `error`).
    Failed,
    /// Stopped by a cancel or an engine shutdown.
    Cancelled,
}

impl JobState {
    /// No further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed | JobState::Cancelled)
    }
}

/// What a job's segments are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The upscaled variant: encoded to the end and saved as the finished file.
    Upscaled,
    /// The middle rung: the same upscale to two thirds of the target size, fastest preset.
    Lower,
    /// The cheapest rung: the source's size, fastest preset, no shader.
    Fallback,
}

impl Role {
    /// A cheaper rung of an upscaled job's ladder (same timeline): encoded only just ahead of
    /// the viewers who ask for it, never saved.
    pub fn on_demand(self) -> bool {
        self != Role::Upscaled
    }

    /// Lowercase name, as in JSON and the CLI server's paths.
    pub fn name(self) -> &'static str {
        match self {
            Role::Upscaled => "upscaled",
            Role::Lower => "lower",
            Role::Fallback => "fallback",
        }
    }
}

/// A cheaper rung of the ladder as the upscaled job's status shows it (for the master playlist
/// and the jobs panel).
#[derive(Debug, Clone, Serialize)]
pub struct RungInfo {
    /// `lower` or `fallback`.
    pub role: Role,
    /// Its own job id: its playlist and segments are served like any job's.
    pub job_id: String,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// RFC 6381 codecs.
    pub codecs: String,
    /// It copies the source's video (nothing is encoded).
    pub stream_copy: bool,
    /// Bandwidth estimate, bits/s.
    pub bandwidth: u64,
    /// Segments of the rung that exist.
    pub segments_ready: u32,
    /// A viewer asked for one of its segments in the last few seconds.
    pub active: bool,
}

/// A byte range of a file on disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSlice {
    /// The file.
    #[serde(serialize_with = "crate::os_path::lossy")]
    pub path: PathBuf,
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub length: u64,
}

/// A ready segment and where its bytes are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentInfo {
    /// Segment index.
    pub index: u32,
    /// Length in seconds.
    pub duration: f64,
    /// The segment file, or its range inside the finished file.
    #[serde(flatten)]
    pub data: FileSlice,
    /// The fMP4 init section (mp4 containers only).
    pub init: Option<FileSlice>,
}

/// A job as shown to callers (status JSON).
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// Stable, unguessable id.
    pub job_id: String,
    /// Life-cycle state.
    pub state: JobState,
    /// Source path.
    #[serde(serialize_with = "crate::os_path::lossy")]
    pub input: PathBuf,
    /// Output codec.
    pub codec: &'static str,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Source width.
    pub source_width: u32,
    /// Source height.
    pub source_height: u32,
    /// Source duration, seconds.
    pub duration_seconds: f64,
    /// Segments in the timeline.
    pub segment_count: u32,
    /// Segment length, seconds.
    pub segment_seconds: u32,
    /// Segment container.
    pub segment_container: Container,
    /// Segments that exist.
    pub segments_ready: u32,
    /// Existing segments as inclusive ranges.
    pub ready_ranges: Vec<[u32; 2]>,
    /// Fraction of segments done, 0..1.
    pub progress: f64,
    /// Encoder frames per second.
    pub fps: f64,
    /// Encoder speed as a multiple of real time.
    pub speed: f64,
    /// Source position the encoder has reached, seconds.
    pub position_seconds: f64,
    /// Seconds until every segment exists, when the speed is known.
    pub eta_seconds: Option<f64>,
    /// RFC 6381 codecs of the stream.
    pub codecs: String,
    /// Bandwidth estimate for the master playlist, bits/s.
    pub bandwidth: u64,
    /// The finished file, once verified.
    #[serde(serialize_with = "crate::os_path::lossy_option")]
    pub final_path: Option<PathBuf>,
    /// Why the job failed or was cancelled.
    pub error: Option<Error>,
    /// The last segment a viewer asked for (where a player switching to a cheaper rung is).
    pub viewer_segment: Option<u32>,
    /// Seconds of ready video from the last segment a viewer asked for onwards (none without
    /// a viewer).
    pub realtime_margin_seconds: Option<f64>,
    /// Whether the encoder stays ahead of the viewer (none without a viewer or a run).
    pub verdict: Option<Verdict>,
    /// `interactive` while a viewer is served, `background` for gap filling or once viewers
    /// have been idle (none without a run).
    pub priority: Option<&'static str>,
    /// `upscaled`, or `lower`/`fallback` for the cheaper rungs of an upscaled job.
    pub role: Role,
    /// The upscaled job a rung belongs to (its viewers are that job's viewers).
    pub parent_job_id: Option<String>,
    /// The encoder preset of the current (or last) run; faster than configured after the
    /// encoder fell behind a viewer.
    pub preset: String,
    /// The encoder is stopped (SIGSTOP) so that viewers of other jobs get the CPU.
    pub held: bool,
    /// The cheaper rungs, best first (upscaled jobs only).
    pub rungs: Vec<RungInfo>,
    /// The latest adaptations, oldest first: what the job changed to keep viewers playing.
    pub adaptations: Vec<String>,
}

impl JobStatus {
    /// This status as anyone who reaches an HTTP server may see it: the source and the saved
    /// file by their names, not their places on the server (the C ABI and the CLI give those).
    pub fn without_paths(mut self) -> JobStatus {
        fn name_only(p: &std::path::Path) -> PathBuf {
            p.file_name().map(PathBuf::from).unwrap_or_default()
        }
        self.input = name_only(&self.input);
        self.final_path = self.final_path.as_deref().map(name_only);
        self
    }
}

/// How the encoder does against a viewer watching in real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Faster than real time with video buffered ahead of the viewer.
    Ahead,
    /// About real time: the viewer will not wait, but there is no headroom.
    KeepingUp,
    /// Slower than real time and the buffer is running out: the viewer will wait.
    FallingBehind,
}
