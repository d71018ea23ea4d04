//! One upscale job: supervises ffmpeg runs, tracks which segments exist, restarts the encoder
//! where a viewer seeks, fills the gaps, and assembles and verifies the finished file.
//!
//! [`status`] is the JSON contract; [`live`] the state that changes; [`policy`] the pure rules
//! that decide; [`driver`] supervises the runs; [`finalize`] makes the saved file.

mod admit;
mod driver;
mod finalize;
mod live;
pub mod policy;
mod status;

pub use status::{FileSlice, JobState, JobStatus, Role, RungInfo, SegmentInfo, Verdict};

use crate::error::{Error, ErrorCode, Result};
use crate::plan::EncodePlan;
use crate::segments::SegmentSet;
use crate::store::{JobDir, Manifest};
use crate::timeline::{Container, Timeline};
use live::Live;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

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

/// Counts a segment request as waiting until it ends; its end is viewer activity too.
struct Waiting<'a>(&'a Mutex<Live>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut l = self.0.lock();
        l.viewers.waiting -= 1;
        l.viewers.last_activity = Instant::now();
    }
}

/// What a job needs from the engine to run.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub ffmpeg: PathBuf,
    /// ffprobe, for the frames near a run's cuts while the whole scan is still being read.
    pub ffprobe: PathBuf,
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
    /// Every source frame's time (the verifier's reference), or why it could not be read.
    frames: OnceLock<std::result::Result<Arc<[f64]>, Error>>,
    /// Why the job was told to stop (a cancel or a failure): a finalization in progress gives
    /// up with it.
    stopping: OnceLock<Error>,
}

/// Adaptations kept for status.
const ADAPTATIONS_KEPT: usize = 8;

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
        // Segments on disk are admitted by the driver once verified.
        let segments = SegmentSet::new(timeline.count());
        let sizes = vec![0u32; timeline.count() as usize];
        let finished = if role == Role::Upscaled { finalize::saved_final(&dir, &final_path) } else { None };
        // A rung waits for its first request.
        let paused = paused || role.on_demand();
        let state = match (finished.is_some(), paused) {
            (true, _) => JobState::Done,
            (false, true) => JobState::Paused,
            (false, false) => JobState::Queued,
        };
        let has_init = dir.init().is_file();
        let mp4 = dir.container == Container::Mp4;
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
            live: Mutex::new({
                let mut live = Live::new(state, &timeline, segments, sizes, preset);
                if let Some((offsets, record)) = finished {
                    live.sizes_from_offsets(&timeline, &offsets, mp4);
                    live.output.final_offsets = offsets;
                    live.output.final_record = record;
                }
                live.output.has_init = has_init;
                live
            }),
            playlist: Mutex::new(None),
            changed,
            control,
            rungs,
            parent: OnceLock::new(),
            frames: OnceLock::new(),
            stopping: OnceLock::new(),
        });
        if let Some(frames) = job.dir.read_frames() {
            let _ = job.frames.set(Ok(frames.into()));
        }
        for r in &job.rungs {
            let _ = r.parent.set(Arc::downgrade(&job));
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

    /// The full-length VOD media playlist with `query` on every URI (built once per query);
    /// refused when it would be too large to build.
    pub fn media_playlist(&self, query: &str) -> Result<Arc<str>> {
        crate::playlist::check_size(&self.plan.timeline, query)?;
        let mut cached = self.playlist.lock();
        match cached.as_ref() {
            Some((q, text)) if q == query => Ok(text.clone()),
            _ => {
                let text: Arc<str> =
                    crate::playlist::media_playlist(&self.plan.timeline, self.dir.container, query).into();
                *cached = Some((query.to_owned(), text.clone()));
                Ok(text)
            }
        }
    }

    /// `BANDWIDTH` for the master playlist: the plan's bound, or the peak measured on the
    /// segments when that is higher (exact once the job is done).
    pub fn bandwidth(&self) -> u64 {
        self.bandwidth_of(&self.live.lock())
    }

    fn bandwidth_of(&self, l: &Live) -> u64 {
        self.plan.bandwidth().max(l.output.peak.unwrap_or(0))
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
            l.viewers.at = Some(k);
            l.viewers.last_activity = Instant::now();
            // Started for the players about to switch: the full lead from the start.
            l.viewers.requests = 2;
            let _ = self.control.send(Control::Seek(k));
        }
    }

    /// Seconds of ready video from segment `from` on.
    fn ready_ahead(&self, l: &Live, from: u32) -> f64 {
        policy::ready_ahead(l, &self.plan.timeline, from)
    }

    /// The verdict of a running job with a viewer.
    fn verdict_of(&self, l: &Live) -> Option<Verdict> {
        policy::verdict_of(l, &self.plan.timeline)
    }

    /// Whether this job's encoder serves a viewer and cannot keep up: other jobs' background
    /// encoders should then give it the CPU.
    pub fn starved(&self) -> bool {
        policy::starved(&self.live.lock(), &self.plan.timeline)
    }

    /// Whether the encoder is so far ahead of its viewer that it can let queued jobs run.
    pub fn far_ahead(&self) -> bool {
        policy::far_ahead(&self.live.lock(), &self.plan.timeline)
    }

    /// Whether the job waits for an encoder slot while a viewer waits for one of its segments.
    pub fn viewer_waiting_in_queue(&self) -> bool {
        let l = self.live.lock();
        l.state == JobState::Queued && l.viewers.waiting > 0
    }

    /// Asks a background (or far ahead) run to give its encoder slot up and queue again.
    pub fn yield_slot(&self) {
        let _ = self.control.send(Control::Yield);
    }

    /// Whether the current run is background work (gap filling, or no viewer lately).
    pub fn is_background(&self) -> bool {
        let l = self.live.lock();
        l.encoder.span.is_some() && l.encoder.background
    }

    /// Asks the encoder to stop (SIGSTOP) or continue, for the viewers of other jobs.
    pub fn set_hold(&self, hold: bool) {
        let changed = {
            let mut l = self.live.lock();
            std::mem::replace(&mut l.encoder.hold, hold) != hold
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
            l.viewers.at = Some(k);
            l.viewers.last_activity = Instant::now();
            if l.viewers.rung_seen.is_none_or(|t| t.elapsed() > policy::RUNG_ACTIVE) {
                self.note(&mut l, format!("viewer on a cheaper variant from segment {k}"));
            }
            l.viewers.rung_seen = Some(Instant::now());
        }
        let _ = self.control.send(Control::Overtaken(k));
    }

    /// A snapshot for status JSON.
    pub fn status(&self) -> JobStatus {
        let l = self.live.lock();
        let count = self.plan.timeline.count();
        let ready = if l.state == JobState::Done { count } else { l.output.segments.ready_count() };
        let remaining = (count - ready) as f64 * self.plan.timeline.segment_seconds as f64;
        let margin = l.viewers.at.map(|v| self.ready_ahead(&l, v));
        let eta_seconds = match l.state {
            JobState::Done => Some(0.0),
            JobState::Running if l.progress.speed > 0.0 => Some(remaining / l.progress.speed),
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
            ready_ranges: if l.state == JobState::Done { vec![[0, count - 1]] } else { l.output.segments.ranges() },
            progress: ready as f64 / count as f64,
            fps: l.progress.fps,
            speed: l.progress.speed,
            position_seconds: l.progress.position,
            eta_seconds,
            codecs: self.plan.codecs(),
            bandwidth: self.bandwidth_of(&l),
            final_path: (l.state == JobState::Done).then(|| self.final_path.clone()),
            error: l.error.clone(),
            viewer_segment: l.viewers.at,
            realtime_margin_seconds: margin,
            verdict: self.verdict_of(&l),
            priority: l.encoder.span.map(|_| if l.encoder.background { "background" } else { "interactive" }),
            role: self.role,
            parent_job_id: self.parent().map(|p| p.id.clone()),
            preset: l.encoder.preset.clone(),
            held: l.encoder.stopped && l.encoder.hold,
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
                        segments_ready: rl.output.segments.ready_count(),
                        active: rl.viewers.last_request.is_some_and(|t| t.elapsed() < policy::RUNG_ACTIVE),
                    }
                })
                .collect(),
            adaptations: l.adaptations.iter().cloned().collect(),
        }
    }

    /// Where the finished file is (or will be).
    pub fn final_path(&self) -> &std::path::Path {
        &self.final_path
    }

    /// No viewer asked anything of the job for `idle` and none waits.
    pub(crate) fn idle_for(&self, idle: Duration) -> bool {
        self.live.lock().idle_for(idle)
    }

    /// Why the job was told to stop, if it was.
    fn stopped_with(&self) -> Option<Error> {
        self.stopping.get().cloned()
    }

    /// Gives the job (and its rungs) the source's frame times once read, keeping them beside
    /// the segments; or why they could not be read (the job then cannot save its file).
    pub(crate) fn set_frames(&self, frames: std::result::Result<Arc<[f64]>, Error>) {
        // Packets that end long before the claimed duration: the job ends, naming why.
        let frames = frames.and_then(|f| match self.plan.timeline.contradicted_by(&f) {
            Some(why) if self.role == Role::Upscaled => {
                let e = Error::bad_input(why);
                self.fail(e.clone());
                Err(e)
            }
            _ => Ok(f),
        });
        for r in &self.rungs {
            r.set_frames(frames.clone());
        }
        if let (Ok(f), Role::Upscaled) = (&frames, self.role) {
            if let Err(e) = self.dir.write_frames(f) {
                tracing::warn!(job = %self.id, "cannot keep the source's frames: {}", e.message);
            }
        }
        if self.frames.set(frames).is_ok() {
            self.changed.send_modify(|v| *v += 1);
        }
    }

    /// Waits until the source's frame times are read.
    pub(crate) async fn wait_frames(&self) -> Result<Arc<[f64]>> {
        let mut rx = self.changed.subscribe();
        loop {
            if let Some(e) = self.stopped_with() {
                return Err(e);
            }
            if let Some(r) = self.frames.get() {
                return r.clone();
            }
            if self.state().is_terminal() || rx.changed().await.is_err() {
                return Err(Error::new(ErrorCode::Cancelled, "ended before the source's frames were read"));
            }
        }
    }

    /// Records viewer activity (a new viewer joined): keeps the encoder at interactive priority.
    pub fn touch(&self) {
        self.live.lock().viewers.last_activity = Instant::now();
    }

    /// Wakes a paused job, starting at segment `k`.
    pub fn resume(&self, k: u32) {
        let _ = self.control.send(Control::Seek(k));
    }

    /// Asks the job (and its rungs) to stop; its ffmpeg is killed and waiters are released.
    pub fn cancel(&self) {
        self.fail(Error::new(ErrorCode::Cancelled, "cancelled"));
    }

    /// [`Job::cancel`] as its user asks it: it stays cancelled across a restart of the engine
    /// (listed cancelled, not resumed) until it is started again.
    pub(crate) fn cancel_for_good(&self) {
        if self.role == Role::Upscaled {
            self.dir.set_cancelled(true);
        }
        self.cancel();
    }

    /// Stops the job (and its rungs) with `error` as the reason, as [`Job::cancel`] stops it.
    pub fn fail(&self, error: Error) {
        let _ = self.stopping.set(error.clone());
        // Wakes a finalization waiting for the source's frames.
        self.changed.send_modify(|v| *v += 1);
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
            l.encoder.span = None;
            l.progress.speed_avg = 0.0;
            l.progress.speed = 0.0;
            l.progress.fps = 0.0;
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
        // From the moment the finished file is in place (its offsets recorded, then the
        // segments freed), not from `Done` a moment later: between the two a segment request
        // found neither.
        if !l.output.final_offsets.is_empty() {
            let o = &l.output.final_offsets;
            let skip = usize::from(self.dir.container == Container::Mp4);
            let slice = |i: usize| FileSlice { path: self.final_path.clone(), offset: o[i], length: o[i + 1] - o[i] };
            return Some(SegmentInfo {
                index: k,
                duration,
                data: slice(k as usize + skip),
                init: (skip == 1).then(|| slice(0)),
            });
        }
        if !l.output.segments.is_ready(k) || (self.dir.container == Container::Mp4 && !l.output.has_init) {
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
            l.viewers.at = Some(k);
            l.viewers.last_activity = Instant::now();
            l.viewers.last_request = Some(Instant::now());
            l.viewers.requests += 1;
            l.viewers.waiting += 1;
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
        let parent_viewer = self.parent().and_then(|p| p.live.lock().viewers.at);
        {
            let mut l = self.live.lock();
            if (self.role.on_demand() || l.state == JobState::Paused) && !l.output.has_init {
                l.viewers.last_activity = Instant::now();
                let _ = self.control.send(Control::Seek(parent_viewer.or(l.viewers.at).unwrap_or(0)));
            }
        }
        let wait = async {
            loop {
                {
                    let l = self.live.lock();
                    if l.state == JobState::Done {
                        let o = &l.output.final_offsets;
                        return Ok(FileSlice { path: self.final_path.clone(), offset: o[0], length: o[1] - o[0] });
                    }
                    if l.output.has_init {
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
}
