//! One upscale job: supervises ffmpeg runs, tracks which segments exist, restarts the encoder
//! where a viewer seeks, fills the gaps, and assembles and verifies the finished file.

use crate::error::{Error, ErrorCode, Result};
use crate::inspect::Inspector;
use crate::plan::EncodePlan;
use crate::process::{self, Exit};
use crate::progress::ProgressParser;
use crate::segments::SegmentSet;
use crate::store::{JobDir, Manifest};
use crate::timeline::Container;
use crate::timeline::Timeline;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, watch, Semaphore};

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

/// The verdict from the smoothed encode speed (x real time) and the buffered seconds.
pub fn verdict(speed: f64, margin: f64, segment_seconds: u32) -> Verdict {
    let s = segment_seconds as f64;
    if speed >= 1.1 || margin >= 3.0 * s {
        Verdict::Ahead
    } else if speed >= 0.95 || margin >= s {
        Verdict::KeepingUp
    } else {
        Verdict::FallingBehind
    }
}

/// Messages from waiters and the engine to a job's driver.
#[derive(Debug)]
pub(crate) enum Control {
    /// A viewer wants this segment: restart the encoder there if it is far away.
    Seek(u32),
    /// A viewer of a cheaper rung is at this segment: an upscaled encoder that it
    /// overtook jumps ahead of it, so the viewer can switch back up.
    Overtaken(u32),
    /// The engine's hold changed (see [`Job::set_hold`]): stop or continue the encoder now.
    Hold,
    /// Another job's viewer waits for an encoder slot (or this run is far ahead of its viewer
    /// while others queue): a background run gives its slot up and queues again.
    Yield,
    /// Stop for good, ending with this error (cancelled, or why the job cannot go on).
    Stop(Error),
}

#[derive(Debug)]
struct Live {
    state: JobState,
    segments: SegmentSet,
    /// Current run: first segment and exclusive end.
    run: Option<(u32, Option<u32>)>,
    fps: f64,
    speed: f64,
    position: f64,
    error: Option<Error>,
    final_offsets: Vec<u64>,
    has_init: bool,
    /// Last segment a viewer asked for.
    viewer: Option<u32>,
    /// When a viewer last asked for anything (or the job started).
    last_activity: Instant,
    /// Segment requests waiting right now: a viewer who waits is not idle.
    waiters: u32,
    /// Segment requests since the job last went idle (a rung trusts two as a viewer).
    requests: u32,
    /// The current run encodes at background priority.
    background: bool,
    /// Encode speed smoothed over recent progress reports.
    speed_avg: f64,
    /// Presets faster than configured that interactive runs use (raised when falling behind).
    speed_step: u32,
    /// Preset of the current or last run.
    preset: String,
    /// The engine asks the encoder to stay stopped (viewers elsewhere need the CPU).
    hold: bool,
    /// The encoder is stopped right now.
    stopped: bool,
    /// When a viewer last asked for a segment of a cheaper rung (upscaled jobs).
    rung_seen: Option<Instant>,
    /// When a viewer last asked for one of this job's segments.
    last_request: Option<Instant>,
    /// Latest adaptations, for status.
    adaptations: VecDeque<String>,
    /// Bytes of each segment (0: not there yet), for the measured peak bit rate.
    sizes: Vec<u32>,
    /// The peak bit rate HLS defines over the segments so far.
    peak: Option<u64>,
}

/// A segment's size as kept for the peak bit rate (no segment comes near 4 GiB).
fn size_u32(bytes: u64) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl Live {
    /// Marks segments ready with their sizes and updates the peak bit rate they make.
    fn mark_ready(&mut self, t: &Timeline, segments: impl IntoIterator<Item = (u32, u64)>) {
        for (k, bytes) in segments {
            if self.segments.mark(k) {
                self.sizes[k as usize] = size_u32(bytes);
            }
        }
        self.peak = crate::timeline::peak_bitrate(t, &self.sizes);
    }

    /// Segment sizes from a finished file's piece offsets (an fMP4 init section first).
    fn sizes_from_offsets(&mut self, t: &Timeline, offsets: &[u64], has_init_piece: bool) {
        let skip = usize::from(has_init_piece);
        self.sizes = offsets.windows(2).skip(skip).map(|w| size_u32(w[1] - w[0])).collect();
        self.peak = crate::timeline::peak_bitrate(t, &self.sizes);
    }

    /// No viewer asked anything for `idle` and none is waiting.
    fn idle_for(&self, idle: Duration) -> bool {
        self.waiters == 0 && self.last_activity.elapsed() > idle
    }
}

/// Counts a segment request as waiting until it ends; its end is viewer activity too.
struct Waiting<'a>(&'a Mutex<Live>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut l = self.0.lock();
        l.waiters -= 1;
        l.last_activity = Instant::now();
    }
}

/// What a job needs from the engine to run.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub ffmpeg: PathBuf,
    /// Encoder slots of upscaled jobs (rungs are cheap and serve stalled viewers: they take
    /// none).
    pub slots: Arc<Semaphore>,
    /// How long without a segment request before a job's encoder drops to background priority.
    pub viewer_idle: Duration,
}

/// What a job is made from: its identity, plan and places on disk.
#[derive(Debug)]
pub(crate) struct JobSpec {
    pub id: String,
    pub role: Role,
    pub plan: EncodePlan,
    pub dir: JobDir,
    /// Where the finished file goes (a rung, never saved, carries its upscaled job's).
    pub final_path: PathBuf,
    pub manifest: Manifest,
    /// A check that must pass before the file is saved: ffprobe confirming the caller's
    /// description the job was planned from.
    pub confirmation: Option<tokio::task::JoinHandle<Result<()>>>,
}

/// One upscale job; shared by every viewer of the same source and profile.
#[derive(Debug)]
pub struct Job {
    id: String,
    role: Role,
    plan: EncodePlan,
    dir: JobDir,
    final_path: PathBuf,
    manifest: Manifest,
    live: Mutex<Live>,
    /// The last media playlist built and its query: a session asks again with the same one.
    playlist: Mutex<Option<(String, Arc<str>)>>,
    changed: watch::Sender<u64>,
    control: mpsc::UnboundedSender<Control>,
    /// The cheaper rungs, best first (upscaled jobs).
    rungs: Vec<Arc<Job>>,
    /// The upscaled job a rung serves, told where its viewers are.
    parent: OnceLock<Weak<Job>>,
}

/// How far ahead of the encoder a request may be before the encoder jumps there instead.
const AHEAD_LIMIT_SECONDS: f64 = 24.0;
/// CPU priority of runs that fill gaps behind the viewers.
const BACKGROUND_NICE: i32 = 10;
/// Runs that die without writing a segment before the job gives up.
const MAX_FRUITLESS_RUNS: u32 = 2;
/// A rung's encoder stops (SIGSTOP) this far ahead of its viewer and continues at half of it.
const RUNG_LOOKAHEAD_SECONDS: f64 = 24.0;
/// A rung's encoder nobody asked anything of for this long ends its run.
const RUNG_IDLE: Duration = Duration::from_secs(15);
/// A rung request this recent means a viewer is on that rung.
const RUNG_ACTIVE: Duration = Duration::from_secs(10);
/// How far ahead of a viewer an overtaken upscaled encoder restarts, so it is ahead again.
const OVERTAKE_LEAD_SECONDS: f64 = 8.0;
/// Consecutive one-second checks with a `falling_behind` verdict before a faster preset.
const BEHIND_CHECKS: u32 = 3;
/// Video ready ahead of the viewer past which a job lets queued jobs have its encoder slot.
const FAR_AHEAD_SECONDS: f64 = 300.0;
/// Adaptations kept for status.
const ADAPTATIONS_KEPT: usize = 8;

enum RunEnd {
    Exited(Exit),
    Seek(u32),
    /// A rung's run whose viewers went away.
    Idle,
    /// A run that gave its encoder slot to another job.
    Yield,
}

impl Job {
    /// Creates the job from what is on disk (segments, a finished file) and starts its driver.
    pub(crate) fn launch(
        spec: JobSpec,
        start_segment: u32,
        tools: Tools,
        paused: bool,
        rungs: Vec<Arc<Job>>,
    ) -> Arc<Job> {
        let JobSpec { id, role, plan, dir, final_path, manifest, confirmation } = spec;
        let timeline = plan.timeline.clone();
        dir.remove_partials(true);
        let mut segments = SegmentSet::new(timeline.count());
        let mut sizes = vec![0u32; timeline.count() as usize];
        for k in dir.scan_segments(timeline.count()) {
            segments.mark(k);
            sizes[k as usize] = std::fs::metadata(dir.segment(k)).map_or(0, |m| size_u32(m.len()));
        }
        let previous = if role == Role::Upscaled { dir.read_manifest() } else { None };
        let finished = previous
            .as_ref()
            .filter(|m| m.final_path.as_deref() == Some(final_path.as_path()) && final_path.is_file())
            .map(|m| m.final_offsets.clone())
            .filter(|o| !o.is_empty());
        // A rung waits for its first request.
        let paused = paused || role.on_demand();
        let state = match (finished.is_some(), paused) {
            (true, _) => JobState::Done,
            (false, true) => JobState::Paused,
            (false, false) => JobState::Queued,
        };
        let has_init = dir.init().is_file();
        let (changed, _) = watch::channel(0u64);
        let (control, control_rx) = mpsc::unbounded_channel();
        let preset = plan.preset().to_owned();
        let job = Arc::new(Job {
            id,
            role,
            plan,
            dir,
            final_path,
            manifest,
            live: Mutex::new(Live {
                state,
                segments,
                run: None,
                fps: 0.0,
                speed: 0.0,
                position: 0.0,
                error: None,
                final_offsets: finished.unwrap_or_default(),
                has_init,
                viewer: None,
                last_activity: Instant::now(),
                waiters: 0,
                requests: 0,
                background: false,
                speed_avg: 0.0,
                speed_step: 0,
                preset,
                hold: false,
                stopped: false,
                rung_seen: None,
                last_request: None,
                adaptations: VecDeque::new(),
                peak: crate::timeline::peak_bitrate(&timeline, &sizes),
                sizes,
            }),
            playlist: Mutex::new(None),
            changed,
            control,
            rungs,
            parent: OnceLock::new(),
        });
        for r in &job.rungs {
            let _ = r.parent.set(Arc::downgrade(&job));
        }
        {
            let mut l = job.live.lock();
            if l.state == JobState::Done {
                let offsets = l.final_offsets.clone();
                l.sizes_from_offsets(&timeline, &offsets, job.dir.container == Container::Mp4);
            }
        }
        if state != JobState::Done {
            let mut checks: Vec<_> = confirmation.into_iter().collect();
            if role == Role::Upscaled {
                // The manifest lets a restarted engine recognise the job. It is written while
                // the first run starts (its fsync can take milliseconds), and saving waits for it.
                let writer = job.clone();
                checks.push(tokio::task::spawn_blocking(move || {
                    let written = writer.dir.write_manifest(&writer.manifest);
                    if let Err(e) = &written {
                        writer.fail(e.clone());
                    }
                    written
                }));
            }
            tokio::spawn(job.clone().drive(start_segment.min(timeline.count() - 1), tools, control_rx, checks));
        }
        job
    }

    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The segment timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.plan.timeline
    }

    /// The encode plan (size, codec, backend).
    pub fn plan(&self) -> &EncodePlan {
        &self.plan
    }

    /// Current state.
    pub fn state(&self) -> JobState {
        self.live.lock().state
    }

    /// What the job is for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The full-length VOD media playlist with `query` on every URI (built once per query).
    pub fn media_playlist(&self, query: &str) -> Arc<str> {
        let mut cached = self.playlist.lock();
        match cached.as_ref() {
            Some((q, text)) if q == query => text.clone(),
            _ => {
                let text: Arc<str> =
                    crate::playlist::media_playlist(&self.plan.timeline, self.dir.container, query).into();
                *cached = Some((query.to_owned(), text.clone()));
                text
            }
        }
    }

    /// `BANDWIDTH` for the master playlist: the plan's bound, or the peak measured on the
    /// segments when that is higher (exact once the job is done).
    pub fn bandwidth(&self) -> u64 {
        self.bandwidth_of(&self.live.lock())
    }

    fn bandwidth_of(&self, l: &Live) -> u64 {
        self.plan.bandwidth().max(l.peak.unwrap_or(0))
    }

    /// The cheaper rungs of an upscaled job, best first.
    pub fn rungs(&self) -> &[Arc<Job>] {
        &self.rungs
    }

    /// The upscaled job of a rung.
    fn parent(&self) -> Option<Arc<Job>> {
        self.parent.get().and_then(Weak::upgrade)
    }

    /// Starts an idle rung at segment `k` before any viewer asked, so it is ahead when the
    /// players switch to it.
    fn prestart(&self, k: u32) {
        let mut l = self.live.lock();
        if l.state == JobState::Paused {
            l.viewer = Some(k);
            l.last_activity = Instant::now();
            // Started for the players about to switch: the full lead from the start.
            l.requests = 2;
            let _ = self.control.send(Control::Seek(k));
        }
    }

    /// Seconds of ready video from segment `from` on.
    fn ready_ahead(&self, l: &Live, from: u32) -> f64 {
        let t = &self.plan.timeline;
        if l.state == JobState::Done {
            return t.duration - t.start(from);
        }
        let end = (from..t.count())
            .take_while(|&k| l.segments.is_ready(k))
            .last()
            .map_or(t.start(from), |k| t.start(k) + t.duration_of(k));
        end - t.start(from)
    }

    /// The verdict of a running job with a viewer.
    fn verdict_of(&self, l: &Live) -> Option<Verdict> {
        let margin = l.viewer.map(|v| self.ready_ahead(l, v))?;
        match l.state {
            JobState::Done => Some(Verdict::Ahead),
            JobState::Running => Some(verdict(l.speed_avg, margin, self.plan.timeline.segment_seconds)),
            _ => None,
        }
    }

    /// Whether this job's encoder serves a viewer and cannot keep up: other jobs' background
    /// encoders should then give it the CPU.
    pub fn starved(&self) -> bool {
        let l = self.live.lock();
        l.run.is_some() && !l.background && !l.stopped && self.verdict_of(&l) == Some(Verdict::FallingBehind)
    }

    /// Whether the encoder is so far ahead of its viewer that it can let queued jobs run.
    pub fn far_ahead(&self) -> bool {
        let l = self.live.lock();
        l.run.is_some() && l.viewer.is_some_and(|v| self.ready_ahead(&l, v) > FAR_AHEAD_SECONDS)
    }

    /// Whether the job waits for an encoder slot while a viewer waits for one of its segments.
    pub fn viewer_waiting_in_queue(&self) -> bool {
        let l = self.live.lock();
        l.state == JobState::Queued && l.waiters > 0
    }

    /// Asks a background (or far ahead) run to give its encoder slot up and queue again.
    pub fn yield_slot(&self) {
        let _ = self.control.send(Control::Yield);
    }

    /// Whether the current run is background work (gap filling, or no viewer lately).
    pub fn is_background(&self) -> bool {
        let l = self.live.lock();
        l.run.is_some() && l.background
    }

    /// Asks the encoder to stop (SIGSTOP) or continue, for the viewers of other jobs.
    pub fn set_hold(&self, hold: bool) {
        let changed = {
            let mut l = self.live.lock();
            std::mem::replace(&mut l.hold, hold) != hold
        };
        if changed {
            let _ = self.control.send(Control::Hold);
        }
    }

    fn note(&self, l: &mut Live, text: String) {
        tracing::info!(job = %self.id, "{text}");
        if l.adaptations.len() == ADAPTATIONS_KEPT {
            l.adaptations.pop_front();
        }
        l.adaptations.push_back(text);
    }

    /// A viewer of one of this job's rungs is at segment `k`: it counts as this job's viewer, and
    /// an encoder it overtook jumps ahead of it.
    fn viewer_on_rung(&self, k: u32) {
        {
            let mut l = self.live.lock();
            l.viewer = Some(k);
            l.last_activity = Instant::now();
            if l.rung_seen.is_none_or(|t| t.elapsed() > RUNG_ACTIVE) {
                self.note(&mut l, format!("viewer on a cheaper variant from segment {k}"));
            }
            l.rung_seen = Some(Instant::now());
        }
        let _ = self.control.send(Control::Overtaken(k));
    }

    /// A snapshot for status JSON.
    pub fn status(&self) -> JobStatus {
        let l = self.live.lock();
        let count = self.plan.timeline.count();
        let ready = if l.state == JobState::Done { count } else { l.segments.ready_count() };
        let remaining = (count - ready) as f64 * self.plan.timeline.segment_seconds as f64;
        let margin = l.viewer.map(|v| self.ready_ahead(&l, v));
        let eta_seconds = match l.state {
            JobState::Done => Some(0.0),
            JobState::Running if l.speed > 0.0 => Some(remaining / l.speed),
            _ => None,
        };
        JobStatus {
            job_id: self.id.clone(),
            state: l.state,
            input: self.plan.input.clone(),
            codec: self.plan.profile.codec.name(),
            width: self.plan.profile.width,
            height: self.plan.profile.height,
            source_width: self.plan.media.width,
            source_height: self.plan.media.height,
            duration_seconds: self.plan.timeline.duration,
            segment_count: count,
            segment_seconds: self.plan.timeline.segment_seconds,
            segment_container: self.dir.container,
            segments_ready: ready,
            ready_ranges: if l.state == JobState::Done { vec![[0, count - 1]] } else { l.segments.ranges() },
            progress: ready as f64 / count as f64,
            fps: l.fps,
            speed: l.speed,
            position_seconds: l.position,
            eta_seconds,
            codecs: self.plan.codecs(),
            bandwidth: self.bandwidth_of(&l),
            final_path: (l.state == JobState::Done).then(|| self.final_path.clone()),
            error: l.error.clone(),
            viewer_segment: l.viewer,
            realtime_margin_seconds: margin,
            verdict: self.verdict_of(&l),
            priority: l.run.map(|_| if l.background { "background" } else { "interactive" }),
            role: self.role,
            parent_job_id: self.parent().map(|p| p.id.clone()),
            preset: l.preset.clone(),
            held: l.stopped && l.hold,
            rungs: self
                .rungs
                .iter()
                .map(|r| {
                    let rl = r.live.lock();
                    RungInfo {
                        role: r.role,
                        job_id: r.id.clone(),
                        width: r.plan.profile.width,
                        height: r.plan.profile.height,
                        codecs: r.plan.codecs(),
                        stream_copy: r.plan.stream_copy,
                        bandwidth: r.bandwidth_of(&rl),
                        segments_ready: rl.segments.ready_count(),
                        active: rl.last_request.is_some_and(|t| t.elapsed() < RUNG_ACTIVE),
                    }
                })
                .collect(),
            adaptations: l.adaptations.iter().cloned().collect(),
        }
    }

    /// Records viewer activity (a new viewer joined): keeps the encoder at interactive priority.
    pub fn touch(&self) {
        self.live.lock().last_activity = Instant::now();
    }

    /// Wakes a paused job, starting at segment `k`.
    pub fn resume(&self, k: u32) {
        let _ = self.control.send(Control::Seek(k));
    }

    /// Asks the job (and its rungs) to stop; its ffmpeg is killed and waiters are released.
    pub fn cancel(&self) {
        self.fail(Error::new(ErrorCode::Cancelled, "cancelled"));
    }

    /// Stops the job (and its rungs) with `error` as the reason, as [`Job::cancel`] stops it.
    pub fn fail(&self, error: Error) {
        for r in &self.rungs {
            r.fail(error.clone());
        }
        let _ = self.control.send(Control::Stop(error));
    }

    fn update(&self, f: impl FnOnce(&mut Live)) {
        f(&mut self.live.lock());
        self.changed.send_modify(|v| *v += 1);
    }

    fn finish(&self, result: Result<()>) {
        self.update(|l| {
            l.run = None;
            l.speed_avg = 0.0;
            l.speed = 0.0;
            l.fps = 0.0;
            match result {
                Ok(()) => l.state = JobState::Done,
                Err(e) if e.code == ErrorCode::Cancelled || e.code == ErrorCode::ShuttingDown => {
                    l.state = JobState::Cancelled;
                    l.error = Some(e);
                }
                Err(e) => {
                    tracing::error!(job = %self.id, "job failed: {}", e.message);
                    l.state = JobState::Failed;
                    l.error = Some(e);
                }
            }
        });
    }

    /// Where segment `k` is, if it is ready now.
    fn ready_segment(&self, l: &Live, k: u32) -> Option<SegmentInfo> {
        let duration = self.plan.timeline.duration_of(k);
        if l.state == JobState::Done {
            let o = &l.final_offsets;
            let skip = usize::from(self.dir.container == Container::Mp4);
            let slice = |i: usize| FileSlice { path: self.final_path.clone(), offset: o[i], length: o[i + 1] - o[i] };
            return Some(SegmentInfo {
                index: k,
                duration,
                data: slice(k as usize + skip),
                init: (skip == 1).then(|| slice(0)),
            });
        }
        if !l.segments.is_ready(k) || (self.dir.container == Container::Mp4 && !l.has_init) {
            return None;
        }
        let whole = |path: PathBuf| {
            let length = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            FileSlice { path, offset: 0, length }
        };
        Some(SegmentInfo {
            index: k,
            duration,
            data: whole(self.dir.segment(k)),
            init: (self.dir.container == Container::Mp4).then(|| whole(self.dir.init())),
        })
    }

    /// Waits (bounded) until segment `k` exists. A request far from the encoder moves the
    /// encoder there.
    pub async fn wait_segment(&self, k: u32, timeout: Duration) -> Result<SegmentInfo> {
        if k >= self.plan.timeline.count() {
            return Err(Error::not_found(format!(
                "segment {k} is past the end ({} segments)",
                self.plan.timeline.count()
            )));
        }
        {
            let mut l = self.live.lock();
            l.viewer = Some(k);
            l.last_activity = Instant::now();
            l.last_request = Some(Instant::now());
            l.requests += 1;
            l.waiters += 1;
        }
        let _waiting = Waiting(&self.live);
        if let Some(parent) = self.parent() {
            parent.viewer_on_rung(k);
        }
        let mut rx = self.changed.subscribe();
        let mut asked = false;
        let wait = async {
            loop {
                {
                    let l = self.live.lock();
                    if let Some(info) = self.ready_segment(&l, k) {
                        return Ok(info);
                    }
                    if l.state.is_terminal() {
                        return Err(l
                            .error
                            .clone()
                            .unwrap_or_else(|| Error::new(ErrorCode::Internal, "job ended without the segment")));
                    }
                }
                if !asked {
                    let _ = self.control.send(Control::Seek(k));
                    asked = true;
                }
                if rx.changed().await.is_err() {
                    return Err(Error::new(ErrorCode::ShuttingDown, "engine is shutting down"));
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or_else(|_| {
            Err(Error::new(ErrorCode::Timeout, format!("segment {k} not ready within {timeout:?}")))
        })
    }

    /// Waits (bounded) for the fMP4 init section; errors for MPEG-TS jobs, which have none.
    pub async fn wait_init(&self, timeout: Duration) -> Result<FileSlice> {
        if self.dir.container != Container::Mp4 {
            return Err(Error::not_found("MPEG-TS streams have no init section"));
        }
        let mut rx = self.changed.subscribe();
        // A player switching to an idle rung (or opening a paused job) asks for the init section
        // first: encoding starts where the viewer is, or the init would never come.
        let parent_viewer = self.parent().and_then(|p| p.live.lock().viewer);
        {
            let mut l = self.live.lock();
            if (self.role.on_demand() || l.state == JobState::Paused) && !l.has_init {
                l.last_activity = Instant::now();
                let _ = self.control.send(Control::Seek(parent_viewer.or(l.viewer).unwrap_or(0)));
            }
        }
        let wait = async {
            loop {
                {
                    let l = self.live.lock();
                    if l.state == JobState::Done {
                        let o = &l.final_offsets;
                        return Ok(FileSlice { path: self.final_path.clone(), offset: o[0], length: o[1] - o[0] });
                    }
                    if l.has_init {
                        let path = self.dir.init();
                        let length = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                        return Ok(FileSlice { path, offset: 0, length });
                    }
                    if l.state.is_terminal() {
                        return Err(l
                            .error
                            .clone()
                            .unwrap_or_else(|| Error::new(ErrorCode::Internal, "job ended without an init section")));
                    }
                }
                if rx.changed().await.is_err() {
                    return Err(Error::new(ErrorCode::ShuttingDown, "engine is shutting down"));
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or_else(|_| Err(Error::new(ErrorCode::Timeout, "init section not ready in time")))
    }

    /// Waits (bounded) until the job reaches a terminal state.
    pub async fn wait_terminal(&self, timeout: Duration) -> JobStatus {
        let mut rx = self.changed.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            while !self.state().is_terminal() {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        self.status()
    }

    /// Subscribes to change notifications (progress, segments, state).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Runs the job to its end. Saving the file waits for every one of `checks` (the manifest
    /// written, a description confirmed); the first error among them fails the job instead.
    async fn drive(
        self: Arc<Self>,
        mut want: u32,
        tools: Tools,
        mut rx: mpsc::UnboundedReceiver<Control>,
        checks: Vec<tokio::task::JoinHandle<Result<()>>>,
    ) {
        let mut result = self.encode_all(&mut want, &tools, &mut rx).await;
        for check in checks {
            if result.is_ok() {
                result = check
                    .await
                    .unwrap_or_else(|e| Err(Error::new(ErrorCode::Internal, format!("checking panicked: {e}"))));
            }
        }
        let result = match result {
            Ok(()) => {
                self.update(|l| {
                    l.state = JobState::Finalizing;
                    l.run = None;
                });
                let job = self.clone();
                match tokio::task::spawn_blocking(move || job.assemble()).await {
                    Ok(Ok(offsets)) => self.publish(offsets),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(Error::new(ErrorCode::Internal, format!("assembling panicked: {e}"))),
                }
            }
            Err(e) => Err(e),
        };
        self.finish(result);
    }

    /// Waits, paused, for a viewer's request (a rung between viewers, a job found on disk).
    async fn wait_for_request(&self, rx: &mut mpsc::UnboundedReceiver<Control>) -> Result<u32> {
        self.update(|l| {
            l.state = JobState::Paused;
            l.run = None;
            l.fps = 0.0;
            l.speed = 0.0;
            l.requests = 0;
        });
        loop {
            match rx.recv().await {
                Some(Control::Seek(k)) => {
                    self.update(|l| l.state = JobState::Queued);
                    return Ok(k);
                }
                Some(Control::Stop(e)) => return Err(e),
                None => return Err(Error::new(ErrorCode::Cancelled, "cancelled while paused")),
                Some(Control::Overtaken(_) | Control::Hold | Control::Yield) => {}
            }
        }
    }

    /// Waits in the queue for an encoder slot, following the viewer's requests meanwhile.
    async fn acquire_slot(
        &self,
        want: &mut u32,
        tools: &Tools,
        rx: &mut mpsc::UnboundedReceiver<Control>,
    ) -> Result<tokio::sync::OwnedSemaphorePermit> {
        loop {
            tokio::select! {
                permit = tools.slots.clone().acquire_owned() => {
                    return permit.map_err(|_| Error::new(ErrorCode::ShuttingDown, "engine is shutting down"));
                }
                msg = rx.recv() => match msg {
                    Some(Control::Seek(k)) => *want = k,
                    Some(Control::Stop(e)) => return Err(e),
                    None => return Err(Error::new(ErrorCode::Cancelled, "cancelled while queued")),
                    Some(Control::Overtaken(_) | Control::Hold | Control::Yield) => {}
                },
            }
        }
    }

    async fn encode_all(&self, want: &mut u32, tools: &Tools, rx: &mut mpsc::UnboundedReceiver<Control>) -> Result<()> {
        if self.state() == JobState::Paused {
            *want = self.wait_for_request(rx).await?;
        }
        let on_demand = self.role.on_demand();
        let mut permit = if on_demand { None } else { Some(self.acquire_slot(want, tools, rx).await?) };
        let mut fruitless = 0;
        // Runs at or after where a viewer last asked serve viewers; runs that go back to fill
        // earlier gaps are background work and yield the CPU to them.
        let mut viewer_from = *want;
        loop {
            let next = {
                let l = self.live.lock();
                // A rung only ever encodes forward from its viewer; gaps behind are nobody's.
                l.segments
                    .next_missing(*want)
                    .filter(|&k| !on_demand || k >= *want)
                    .map(|first| (first, l.segments.next_ready_after(first)))
            };
            let (first, end) = match next {
                Some(run) => run,
                None if on_demand => {
                    *want = self.wait_for_request(rx).await?;
                    viewer_from = *want;
                    continue;
                }
                None => return Ok(()),
            };
            let before = self.live.lock().segments.ready_count();
            match self.run_once(first, end, tools, rx, first < viewer_from).await? {
                RunEnd::Seek(k) => {
                    *want = k;
                    viewer_from = k;
                }
                RunEnd::Idle => {
                    *want = self.wait_for_request(rx).await?;
                    viewer_from = *want;
                }
                RunEnd::Yield => {
                    // Fair semaphore: the job queues behind the ones it yielded to.
                    drop(permit.take());
                    self.update(|l| l.state = JobState::Queued);
                    *want = first;
                    permit = Some(self.acquire_slot(want, tools, rx).await?);
                }
                RunEnd::Exited(exit) => {
                    self.mark_existing();
                    let l = self.live.lock();
                    let filled = (first..end.unwrap_or(self.plan.timeline.count())).all(|k| l.segments.is_ready(k));
                    let progressed = l.segments.ready_count() > before;
                    drop(l);
                    if filled {
                        *want = end.unwrap_or(if on_demand { self.plan.timeline.count() } else { 0 });
                        fruitless = 0;
                        continue;
                    }
                    let reason = match exit {
                        Exit::Failed(code) => format!("ffmpeg failed (exit {code:?}): {}", self.log_tail(first)),
                        Exit::Success | Exit::Unknown => {
                            return Err(Error::bad_input(format!(
                                "the source ends early: ffmpeg stopped before segment {} of {} (truncated or corrupt file?)",
                                self.live.lock().segments.next_missing(first).unwrap_or(first),
                                self.plan.timeline.count()
                            )))
                        }
                    };
                    fruitless = if progressed { 0 } else { fruitless + 1 };
                    if fruitless >= MAX_FRUITLESS_RUNS {
                        return Err(Error::ffmpeg(reason));
                    }
                    tracing::warn!(job = %self.id, "retrying after {reason}");
                    *want = first;
                }
            }
        }
    }

    fn log_tail(&self, first: u32) -> String {
        let text = std::fs::read_to_string(self.dir.log(first)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).rev().take(2).collect();
        if tail.is_empty() {
            "no error output".to_owned()
        } else {
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        }
    }

    /// Marks every complete segment on disk (a backstop for missed file events).
    fn mark_existing(&self) {
        let found = self.dir.scan_segments(self.plan.timeline.count());
        let new: Vec<u32> = {
            let l = self.live.lock();
            found.into_iter().filter(|&k| !l.segments.is_ready(k)).collect()
        };
        let sizes: Vec<(u32, u64)> =
            new.into_iter().map(|k| (k, std::fs::metadata(self.dir.segment(k)).map_or(0, |m| m.len()))).collect();
        let has_init = self.adopt_init();
        self.update(|l| {
            l.mark_ready(&self.plan.timeline, sizes);
            l.has_init = has_init;
        });
    }

    /// fMP4: the first run's init section becomes the job's; all runs encode alike.
    fn adopt_init(&self) -> bool {
        if self.dir.container != Container::Mp4 {
            return false;
        }
        let init = self.dir.init();
        if init.is_file() {
            return true;
        }
        let Ok(entries) = std::fs::read_dir(&self.dir.path) else { return false };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("init_") && name.ends_with(".mp4") && std::fs::hard_link(e.path(), &init).is_ok() {
                return true;
            }
        }
        init.is_file()
    }

    fn should_restart(&self, k: u32) -> bool {
        let l = self.live.lock();
        if l.segments.is_ready(k) {
            return false;
        }
        let Some((first, end)) = l.run else { return true };
        let frontier = (first..end.unwrap_or(self.plan.timeline.count()))
            .take_while(|&j| l.segments.is_ready(j))
            .last()
            .unwrap_or(first);
        let ahead = (AHEAD_LIMIT_SECONDS / self.plan.timeline.segment_seconds as f64).ceil() as u32;
        k < first || end.is_some_and(|e| k >= e) || k > frontier + ahead
    }

    /// Whether the encoder should be stopped now: the engine holds it for other jobs'
    /// viewers, or a rung is far enough ahead of its viewer (with hysteresis, so a stopped
    /// rung continues once half of its lead is watched).
    fn wants_stop(&self, stopped: bool, first: u32) -> bool {
        let l = self.live.lock();
        let ahead = || self.ready_ahead(&l, l.viewer.unwrap_or(first));
        // One request may be a player probing every variant at start (ffmpeg, mpv): a rung
        // runs one segment ahead until a second request shows someone is watching it.
        let lookahead = if l.requests < 2 { self.plan.timeline.segment_seconds as f64 } else { RUNG_LOOKAHEAD_SECONDS };
        let limit = if stopped { lookahead / 2.0 } else { lookahead };
        l.hold || (self.role.on_demand() && ahead() > limit)
    }

    /// Stops or continues the encoder when [`Job::wants_stop`] changed its mind.
    fn apply_stop(&self, child: &process::Child, stopped: &mut bool, first: u32) {
        let stop = self.wants_stop(*stopped, first);
        if stop != *stopped {
            child.suspend(stop);
            *stopped = stop;
            self.update(|l| {
                l.stopped = stop;
                if l.hold || !self.role.on_demand() {
                    let text =
                        if stop { "encoder stopped: viewers of other jobs need the CPU" } else { "encoder continued" };
                    self.note(l, text.to_owned());
                }
            });
        }
    }

    /// Where an upscaled run restarts when a viewer of a cheaper rung has overtaken it: ahead of
    /// the viewer, so the viewer can switch back up. None while the run is not behind.
    fn overtaken_restart(&self, k: u32, first: u32) -> Option<u32> {
        let l = self.live.lock();
        let count = self.plan.timeline.count();
        let frontier = (first..count).take_while(|&j| l.segments.is_ready(j)).last().map_or(first, |j| j + 1);
        // A viewer at the very segment being encoded is not ahead of it: players that probe
        // every variant at start (ffmpeg, mpv) ask segment 0 of each, and must not move it.
        if self.role.on_demand() || frontier >= k {
            return None;
        }
        let lead = (OVERTAKE_LEAD_SECONDS / self.plan.timeline.segment_seconds as f64).ceil() as u32;
        l.segments.next_missing((k + lead).min(count - 1))
    }

    /// Ends a run: its ffmpeg group is killed (so no partial segment gets a final name) and
    /// every segment it completed is counted.
    async fn end_run(&self, child: &mut process::Child) {
        child.kill().await;
        // Only one ffmpeg writes a job's folder: what it left half-written is garbage now (the
        // manifest may be being written beside it).
        self.dir.remove_partials(false);
        self.mark_existing();
    }

    async fn run_once(
        &self,
        first: u32,
        end: Option<u32>,
        tools: &Tools,
        rx: &mut mpsc::UnboundedReceiver<Control>,
        gap_fill: bool,
    ) -> Result<RunEnd> {
        let on_demand = self.role.on_demand();
        // Viewers get the CPU first: gap filling, and runs nobody has asked for lately, yield.
        // A rung always serves a viewer who would otherwise wait.
        let wanted_nice = || {
            let l = self.live.lock();
            if !on_demand && (gap_fill || l.idle_for(tools.viewer_idle)) {
                BACKGROUND_NICE
            } else {
                0
            }
        };
        let mut nice = wanted_nice();
        // Faster presets are for keeping up with a viewer; background work keeps the
        // configured quality.
        let step = if nice == 0 && !on_demand { self.live.lock().speed_step } else { self.plan.speed_step };
        let plan = EncodePlan { speed_step: step, ..self.plan.clone() };
        let args = plan.encode_args(first, end);
        // A rung's folder goes when its upscaled job is saved, and comes back on demand.
        std::fs::create_dir_all(&self.dir.path).map_err(|e| Error::io("cannot create", &self.dir.path, e))?;
        let log = std::fs::File::create(self.dir.log(first))
            .map_err(|e| Error::io("cannot create", &self.dir.log(first), e))?;
        tracing::info!(job = %self.id, first, ?end, nice, "starting ffmpeg: {}", crate::plan::display_args(&tools.ffmpeg, &args));
        let mut child = process::spawn(&tools.ffmpeg, &args, Stdio::piped(), Stdio::from(log), nice)
            .map_err(|e| Error::ffmpeg(format!("cannot start {}: {e}", tools.ffmpeg.display())))?;
        let (events_tx, mut events) = mpsc::unbounded_channel::<PathBuf>();
        let _watcher = watch_dir(&self.dir.path, events_tx);
        let run_start = self.plan.timeline.start(first);
        self.update(|l| {
            l.state = JobState::Running;
            l.run = Some((first, end));
            l.position = run_start;
            l.background = nice > 0;
            l.preset = plan.preset().to_owned();
            // The new run's speed is measured afresh: the verdict must judge this preset.
            l.speed_avg = 0.0;
            l.stopped = false;
        });
        let started = Instant::now();
        let mut stopped = false;
        let mut behind = 0;
        let mut priority_check = tokio::time::interval(Duration::from_secs(1));
        let mut lines = child.take_stdout().map(|s| tokio::io::BufReader::new(s).lines());
        let mut parser = ProgressParser::default();
        loop {
            tokio::select! {
                line = async { lines.as_mut().expect("guarded").next_line().await }, if lines.is_some() => match line {
                    Ok(Some(line)) => if let Some(p) = parser.feed(&line) {
                        self.update(|l| {
                            l.fps = p.fps;
                            l.speed = p.speed.unwrap_or(l.speed);
                            l.speed_avg = if l.speed_avg == 0.0 { l.speed } else { 0.8 * l.speed_avg + 0.2 * l.speed };
                            if let Some(t) = p.out_time { l.position = run_start + t; }
                        });
                    },
                    _ => lines = None,
                },
                Some(path) = events.recv() => {
                    self.on_file_event(&path);
                    // A rung stops as soon as it is far enough ahead, not at the next check.
                    if on_demand {
                        self.apply_stop(&child, &mut stopped, first);
                    }
                }
                _ = priority_check.tick() => {
                    let want = wanted_nice();
                    if want != nice {
                        if child.set_nice(want) {
                            tracing::info!(job = %self.id, nice = want, "encoder priority changed");
                            nice = want;
                            self.update(|l| {
                                l.background = want > 0;
                                if want > 0 { l.speed_step = 0; }
                            });
                        } else if want < nice {
                            // Raising priority back needs privileges: a new run starts at
                            // normal priority where the viewer is.
                            self.end_run(&mut child).await;
                            let k = self.live.lock().viewer.unwrap_or(first);
                            return Ok(RunEnd::Seek(k));
                        }
                    }
                    self.apply_stop(&child, &mut stopped, first);
                    if on_demand && self.live.lock().idle_for(RUNG_IDLE) {
                        self.end_run(&mut child).await;
                        return Ok(RunEnd::Idle);
                    }
                    // Falling behind a viewer: first a faster preset, from where the run is.
                    let falling = nice == 0
                        && !on_demand
                        && !stopped
                        && self.verdict_of(&self.live.lock()) == Some(Verdict::FallingBehind);
                    behind = if falling { behind + 1 } else { 0 };
                    if behind >= BEHIND_CHECKS && started.elapsed() >= Duration::from_secs(5) {
                        if let Some(faster) = plan.faster() {
                            self.end_run(&mut child).await;
                            let mut l = self.live.lock();
                            let k = l.segments.next_missing(first).unwrap_or(first);
                            let text = format!(
                                "falling behind the viewer at {:.2}x real time: preset {} -> {} from segment {k}",
                                l.speed_avg, plan.preset(), faster.preset()
                            );
                            self.note(&mut l, text);
                            l.speed_step = faster.speed_step;
                            return Ok(RunEnd::Seek(k));
                        }
                        // No faster preset left: the lower target gets ahead of the viewer.
                        if let Some(lower) = self.rungs.iter().find(|r| r.role == Role::Lower && r.state() == JobState::Paused) {
                            let mut l = self.live.lock();
                            let k = l.viewer.unwrap_or(first);
                            let p = &lower.plan.profile;
                            self.note(&mut l, format!("no faster preset left: the lower target {}x{} starts at segment {k}", p.width, p.height));
                            lower.prestart(k);
                            behind = 0;
                        }
                    }
                }
                exit = child.wait() => {
                    if self.plan.stream_copy {
                        // The copy's last segment is whole only if ffmpeg ended well.
                        match exit {
                            Exit::Success => self.dir.temp_segments().into_iter().for_each(|k| self.dir.complete_copied(k)),
                            _ => self.dir.remove_partials(false),
                        }
                    }
                    return Ok(RunEnd::Exited(exit));
                }
                msg = rx.recv() => match msg {
                    Some(Control::Seek(k)) => if self.should_restart(k) {
                        tracing::info!(job = %self.id, from = first, to = k, "viewer seeked: restarting the encoder");
                        self.end_run(&mut child).await;
                        return Ok(RunEnd::Seek(k));
                    },
                    Some(Control::Overtaken(k)) => if let Some(to) = self.overtaken_restart(k, first) {
                        self.end_run(&mut child).await;
                        let mut l = self.live.lock();
                        self.note(&mut l, format!("the viewer overtook the encoder at segment {k}: restarting it ahead, at {to}"));
                        return Ok(RunEnd::Seek(to));
                    },
                    Some(Control::Hold) => priority_check.reset_immediately(),
                    Some(Control::Yield) => if nice > 0 || self.far_ahead() {
                        self.end_run(&mut child).await;
                        let mut l = self.live.lock();
                        self.note(&mut l, "gave its encoder slot to another job's viewer".to_owned());
                        return Ok(RunEnd::Yield);
                    },
                    Some(Control::Stop(e)) => {
                        self.end_run(&mut child).await;
                        return Err(e);
                    }
                    None => {
                        self.end_run(&mut child).await;
                        return Err(Error::new(ErrorCode::Cancelled, "cancelled"));
                    }
                },
            }
        }
    }

    /// Frees an idle rung's segments once its upscaled job is saved; a later request makes them
    /// again.
    fn discard_if_idle(&self) {
        let mut l = self.live.lock();
        if l.state == JobState::Paused {
            // Under the lock: a request cannot start a run in the folder being removed.
            self.dir.wipe();
            l.segments = SegmentSet::new(self.plan.timeline.count());
            l.sizes.fill(0);
            l.peak = None;
            l.has_init = false;
        }
    }

    fn on_file_event(&self, path: &Path) {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
        if self.plan.stream_copy {
            // The muxer begins segment k only after closing k-1 (a killed run's leftovers are
            // removed), so k-1 is complete.
            if let Some(k) = name.strip_suffix(".tmp").and_then(|n| self.dir.parse_segment_name(n)) {
                if k > 0 {
                    self.dir.complete_copied(k - 1);
                }
                return;
            }
        }
        if let Some(k) = self.dir.parse_segment_name(&name) {
            if let Some(meta) = std::fs::metadata(path).ok().filter(|m| m.is_file()) {
                let has_init = self.adopt_init() || self.dir.container == Container::Ts;
                self.update(|l| {
                    l.mark_ready(&self.plan.timeline, [(k, meta.len())]);
                    l.has_init = has_init;
                });
            }
        }
    }

    /// Concatenates init + segments into a temp file beside the final name, reading what passes
    /// through with an [`Inspector`] and checking it against the plan (codec, size, every
    /// segment's place, duration); returns the byte offsets (one per piece plus the end). A file
    /// that fails the check is removed.
    fn assemble(&self) -> Result<Vec<u64>> {
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

    fn temp_final_path(&self) -> PathBuf {
        let name = self.final_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.final_path.with_file_name(format!(".{name}.partial"))
    }

    /// Renames the verified file into place, records its offsets and frees the segments.
    fn publish(&self, offsets: Vec<u64>) -> Result<()> {
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
            l.final_offsets = offsets;
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

/// Watches a folder for files appearing (ffmpeg renames each finished segment into place), so
/// waiters wake when a segment lands instead of polling.
fn watch_dir(dir: &Path, tx: mpsc::UnboundedSender<PathBuf>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .ok()?;
    w.watch(dir, notify::RecursiveMode::NonRecursive).ok()?;
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::{verdict, Verdict};

    #[test]
    fn verdict_weighs_speed_and_buffer() {
        assert_eq!(verdict(2.0, 0.0, 4), Verdict::Ahead);
        assert_eq!(verdict(0.5, 20.0, 4), Verdict::Ahead, "a big buffer is still ahead");
        assert_eq!(verdict(1.0, 0.0, 4), Verdict::KeepingUp);
        assert_eq!(verdict(0.7, 5.0, 4), Verdict::KeepingUp, "slow, but a segment is buffered");
        assert_eq!(verdict(0.7, 1.0, 4), Verdict::FallingBehind);
    }
}
