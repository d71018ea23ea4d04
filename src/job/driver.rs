//! The run supervisor: waits for a request or an encoder slot, starts each ffmpeg run inside
//! the job's folder, follows its progress, its files and the control messages in one event
//! loop, applies the policy (restart, stop, priority, adaptations), and ends runs so that no
//! half-written segment ever gets a final name.

use super::finalize::{unverified, Assembled};
use super::policy::{self, Adaptation};
use super::{Control, Job, JobState, Role, Tools, Verdict};
use crate::error::{Error, ErrorCode, Result};
use crate::plan::EncodePlan;
use crate::process::{self, Exit};
use crate::progress::ProgressParser;
use crate::segments::SegmentSet;
use crate::timeline::Container;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// Runs that die without writing a segment before the job gives up.
const MAX_FRUITLESS_RUNS: u32 = 2;
/// Segments one run encodes at most: its keyframe list is one argument (Linux caps one at
/// 128 KiB), and a longer stretch is the next run's, which joins it exactly.
const MAX_RUN_SEGMENTS: u32 = 2000;
/// Times the finished file is assembled again after segments failed the verifier.
const MAX_REDOS: u32 = 3;

enum RunEnd {
    Exited(Exit),
    Seek(u32),
    /// A rung's run whose viewers went away.
    Idle,
    /// A run that gave its encoder slot to another job.
    Yield,
}

/// One ffmpeg run and what its supervisor keeps of it.
struct Run {
    child: process::Child,
    /// Its first segment.
    first: u32,
    /// Its plan, at the preset it runs.
    plan: EncodePlan,
    /// It goes back to fill a gap behind the viewer (background work).
    gap_fill: bool,
    nice: i32,
    /// Suspended (SIGSTOP) by the policy.
    stopped: bool,
    /// Consecutive checks that found it falling behind its viewer.
    behind: u32,
    started: Instant,
}

impl Job {
    /// Runs the job to its end. Saving the file waits for every one of `checks` (the manifest
    /// written, a description confirmed); the first error among them fails the job instead.
    pub(super) async fn drive(
        self: Arc<Self>,
        mut want: u32,
        tools: Tools,
        mut rx: mpsc::UnboundedReceiver<Control>,
        checks: Vec<tokio::task::JoinHandle<Result<()>>>,
    ) {
        // Segments left on disk by an earlier engine count only once verified.
        let job = self.clone();
        let _ = tokio::task::spawn_blocking(move || job.admit_found()).await;
        let mut checks = Some(checks);
        let mut tries = 0;
        let result = loop {
            if let Err(e) = self.encode_all(&mut want, &tools, &mut rx).await {
                break Err(e);
            }
            for check in checks.take().into_iter().flatten() {
                if let Err(e) = check
                    .await
                    .unwrap_or_else(|e| Err(Error::new(ErrorCode::Internal, format!("checking panicked: {e}"))))
                {
                    self.finish(Err(e));
                    return;
                }
            }
            // Finalizing: checked against the source's frames (read by then, or waited for).
            self.update(|l| {
                l.state = JobState::Finalizing;
                l.encoder.span = None;
            });
            let frames = match self.wait_frames().await {
                Ok(frames) => frames,
                Err(e) => break Err(e),
            };
            if let Err(e) = self.check_source() {
                break Err(e);
            }
            let job = self.clone();
            match tokio::task::spawn_blocking(move || job.assemble(&frames)).await {
                Ok(Ok(Assembled::File(tmp, offsets))) => break self.publish(tmp, offsets),
                Ok(Ok(Assembled::Redo(bad))) if tries < MAX_REDOS => {
                    // Segments that fail are made again, not the job.
                    tries += 1;
                    want = bad[0].0;
                    self.update(|l| l.state = JobState::Queued);
                }
                Ok(Ok(Assembled::Redo(bad))) => break Err(unverified(format!("segments keep failing: {}", bad[0].1))),
                Ok(Err(e)) => break Err(e),
                Err(e) => break Err(Error::new(ErrorCode::Internal, format!("assembling panicked: {e}"))),
            }
        };
        self.finish(result);
    }

    /// Waits, paused, for a viewer's request (a rung between viewers, a job found on disk).
    async fn wait_for_request(&self, rx: &mut mpsc::UnboundedReceiver<Control>) -> Result<u32> {
        self.update(|l| {
            l.state = JobState::Paused;
            l.encoder.span = None;
            l.progress.fps = 0.0;
            l.progress.speed = 0.0;
            l.viewers.requests = 0;
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

    /// The span of the next run from `want`: the first missing segment at or after it (a rung's
    /// only forward of its viewer) up to the next ready one, at most [`MAX_RUN_SEGMENTS`].
    fn next_run(&self, want: u32) -> Option<(u32, Option<u32>)> {
        let l = self.live.lock();
        let first = l.output.segments.next_missing(want).filter(|&k| !self.role.on_demand() || k >= want)?;
        let count = self.plan.timeline.count();
        let cap = (first + MAX_RUN_SEGMENTS < count).then_some(first + MAX_RUN_SEGMENTS);
        let end = match (l.output.segments.next_ready_after(first), cap) {
            (Some(next), Some(cap)) => Some(next.min(cap)),
            (next, cap) => next.or(cap),
        };
        Some((first, end))
    }

    /// Runs the encoder until every segment is ready (a rung: until it is cancelled), following
    /// seeks, idleness and yields between runs, and retrying runs that fail.
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
            let (first, end) = match self.next_run(*want) {
                Some(run) => run,
                None if on_demand => {
                    *want = self.wait_for_request(rx).await?;
                    viewer_from = *want;
                    continue;
                }
                None => return Ok(()),
            };
            let before = self.live.lock().output.segments.ready_count();
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
                RunEnd::Exited(exit) => *want = self.after_exit(exit, (first, end), before, &mut fruitless)?,
            }
        }
    }

    /// What follows a run that exited by itself: the segment to go on from when it filled its
    /// span, else its first again (the job's error once runs keep failing without progress).
    fn after_exit(
        &self,
        exit: Exit,
        (first, end): (u32, Option<u32>),
        before: u32,
        fruitless: &mut u32,
    ) -> Result<u32> {
        self.mark_existing(first);
        let count = self.plan.timeline.count();
        let l = self.live.lock();
        let filled = (first..end.unwrap_or(count)).all(|k| l.output.segments.is_ready(k));
        let progressed = l.output.segments.ready_count() > before;
        drop(l);
        if filled {
            *fruitless = 0;
            return Ok(end.unwrap_or(if self.role.on_demand() { count } else { 0 }));
        }
        let rejected = self.live.lock().encoder.rejected.take();
        let full = if self.dir.is_full(self.room_needed()) { "disk full: " } else { "" };
        let mut undecodable = false;
        let reason = match (exit, rejected) {
            // The verifier threw a segment out: the run is made again.
            (_, Some((k, why))) => format!("{full}segment {k} failed verification: {why}"),
            (Exit::Failed(code), None) => {
                let log = crate::ffmpeg_log::explain(&std::fs::read_to_string(self.dir.log(first)).unwrap_or_default());
                undecodable = log.undecodable;
                let full = if log.disk_full { "disk full: " } else { full };
                format!("{full}ffmpeg failed (exit {code:?}): {}", log.text)
            }
            (Exit::Success | Exit::Unknown, None) => {
                let k = self.live.lock().output.segments.next_missing(first).unwrap_or(first);
                let t = &self.plan.timeline;
                return Err(Error::bad_input(format!(
                    "the source ends early: ffmpeg stopped before segment {k} of {count}, at {:.1} s of the {:.0} s the file claims (truncated or corrupt file, or a damaged header?)",
                    t.start(k),
                    t.duration
                )));
            }
        };
        *fruitless = if progressed { 0 } else { *fruitless + 1 };
        if *fruitless >= MAX_FRUITLESS_RUNS {
            // Runs that keep failing to decode the source: the file is at fault, not ffmpeg.
            return Err(match undecodable {
                true => Error::bad_input(format!("the source cannot be decoded: {reason}")),
                false => Error::ffmpeg(reason),
            });
        }
        tracing::warn!(job = %self.id, "retrying after {reason}");
        Ok(first)
    }

    /// Room a run needs to write its next segment: twice the largest segment so far (an init
    /// section and a temporary copy), at least 1 MiB.
    fn room_needed(&self) -> u64 {
        let largest = u64::from(self.live.lock().output.sizes.iter().copied().max().unwrap_or(0));
        (2 * largest).max(1 << 20)
    }

    /// Admits every complete segment on disk that the run from `first` wrote (a backstop for
    /// missed file events).
    fn mark_existing(&self, first: u32) {
        let has_init = self.adopt_init();
        self.update(|l| l.output.has_init = has_init);
        let found = self.dir.scan_segments(self.plan.timeline.count());
        let new: Vec<u32> = {
            let l = self.live.lock();
            found.into_iter().filter(|&k| !l.output.segments.is_ready(k)).collect()
        };
        for k in new {
            self.admit(k, Some(first));
        }
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
            if name.starts_with("init_")
                && crate::store::names::is_run_file(&name)
                && std::fs::hard_link(e.path(), &init).is_ok()
            {
                return true;
            }
        }
        init.is_file()
    }

    fn should_restart(&self, k: u32) -> bool {
        policy::should_restart(&self.live.lock(), &self.plan.timeline, k)
    }

    /// Stops or continues the encoder when [`policy::wants_stop`] changed its mind.
    fn apply_stop(&self, run: &mut Run) {
        let stop = policy::wants_stop(&self.live.lock(), &self.plan.timeline, self.role.on_demand(), run.first);
        if stop != run.stopped {
            run.child.suspend(stop);
            run.stopped = stop;
            self.update(|l| {
                l.encoder.stopped = stop;
                if l.encoder.hold || !self.role.on_demand() {
                    let text =
                        if stop { "encoder stopped: viewers of other jobs need the CPU" } else { "encoder continued" };
                    self.note(l, text.to_owned());
                }
            });
        }
    }

    /// Where an upscaled run from `first` restarts when a viewer of a cheaper rung is at `k`.
    fn overtaken_restart(&self, k: u32, first: u32) -> Option<u32> {
        (!self.role.on_demand()).then(|| policy::overtaken_restart(&self.live.lock(), &self.plan.timeline, k, first))?
    }

    /// Ends a run: its ffmpeg group is killed (so no partial segment gets a final name) and
    /// every segment it completed is counted.
    async fn end_run(&self, child: &mut process::Child, first: u32) {
        child.kill().await;
        // Only one ffmpeg writes a job's folder: what it left half-written is garbage now (the
        // manifest may be being written beside it).
        self.dir.remove_partials(false);
        self.mark_existing(first);
    }

    /// The source's frames around a run's cuts, read apart from the whole scan that has not
    /// finished yet: a run cut on the boundary itself while a later one cuts on the frame after
    /// it carried the AAC packet between the two in both (a duplicate at the join).
    async fn frames_near_cuts(&self, first: u32, end: Option<u32>, tools: &Tools) -> Option<Arc<[f64]>> {
        let t = &self.plan.timeline;
        let around: Vec<f64> = [(first > 0).then_some(first), end].into_iter().flatten().map(|k| t.start(k)).collect();
        if around.is_empty() || self.plan.stream_copy {
            return None;
        }
        let (input, start) = (&self.plan.input, self.plan.media.start_time);
        match crate::keyframes::frames_near(&tools.ffprobe, input, start, &around).await {
            Ok(frames) => Some(frames.into()),
            Err(e) => {
                tracing::warn!(job = %self.id, "cuts on the segment boundaries: {}", e.message);
                None
            }
        }
    }

    /// Starts ffmpeg for segments `first..end`: at the priority and preset the policy wants
    /// now, cut at the source's frames where they are known.
    async fn start_run(&self, first: u32, end: Option<u32>, tools: &Tools, gap_fill: bool) -> Result<Run> {
        let on_demand = self.role.on_demand();
        self.check_source()?;
        let nice = self.wanted_nice(gap_fill, tools.viewer_idle);
        // Faster presets are for keeping up with a viewer; background work keeps the
        // configured quality.
        let step = if nice == 0 && !on_demand { self.live.lock().encoder.speed_step } else { self.plan.speed_step };
        let plan = EncodePlan { speed_step: step, ..self.plan.clone() };
        let frames = match self.frames.get().and_then(|f| f.as_ref().ok()).cloned() {
            Some(all) => Some(all),
            None => self.frames_near_cuts(first, end, tools).await,
        };
        let args = plan.encode_args(first, end, frames.as_deref());
        // A rung's folder goes when its upscaled job is saved, and comes back on demand.
        std::fs::create_dir_all(&self.dir.path).map_err(|e| Error::io("cannot create", &self.dir.path, e))?;
        let log = std::fs::File::create(self.dir.log(first))
            .map_err(|e| Error::io("cannot create", &self.dir.log(first), e))?;
        tracing::info!(job = %self.id, first, ?end, nice, "starting ffmpeg: {}", crate::plan::display_args(&tools.ffmpeg, &args));
        let child = process::Spawn::new(&tools.ffmpeg, &args)
            .dir(&self.dir.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .nice(nice)
            .spawn()
            .map_err(|e| Error::ffmpeg(format!("cannot start {}: {e}", tools.ffmpeg.display())))?;
        let run_start = self.plan.timeline.start(first);
        self.update(|l| {
            l.state = JobState::Running;
            l.encoder.span = Some((first, end));
            l.progress.position = run_start;
            l.encoder.background = nice > 0;
            l.encoder.preset = plan.preset().to_owned();
            // The new run's speed is measured afresh: the verdict must judge this preset.
            l.progress.speed_avg = 0.0;
            l.encoder.stopped = false;
            l.encoder.rejected = None;
        });
        Ok(Run { child, first, plan, gap_fill, nice, stopped: false, behind: 0, started: Instant::now() })
    }

    /// One run from start to end: its progress, its files, the once-a-second policy check,
    /// its exit and the control messages, in one event loop.
    async fn run_once(
        &self,
        first: u32,
        end: Option<u32>,
        tools: &Tools,
        rx: &mut mpsc::UnboundedReceiver<Control>,
        gap_fill: bool,
    ) -> Result<RunEnd> {
        let mut run = self.start_run(first, end, tools, gap_fill).await?;
        let (events_tx, mut events) = mpsc::unbounded_channel::<PathBuf>();
        let _watcher = watch_dir(&self.dir.path, events_tx);
        let mut priority_check = tokio::time::interval(Duration::from_secs(1));
        let mut lines = run.child.take_stdout().map(|s| tokio::io::BufReader::new(s).lines());
        let mut parser = ProgressParser::default();
        loop {
            let ended = tokio::select! {
                line = async { lines.as_mut().expect("guarded").next_line().await }, if lines.is_some() => {
                    match line {
                        Ok(Some(line)) => self.on_progress(&mut parser, &line, first),
                        _ => lines = None,
                    }
                    None
                }
                Some(path) = events.recv() => {
                    self.on_file_event(&path, first);
                    // A rung stops as soon as it is far enough ahead, not at the next check.
                    if self.role.on_demand() {
                        self.apply_stop(&mut run);
                    }
                    None
                }
                _ = priority_check.tick() => self.on_tick(&mut run, tools.viewer_idle).await.map(Ok),
                exit = run.child.wait() => Some(Ok(self.on_exit(exit))),
                msg = rx.recv() => match msg {
                    Some(Control::Hold) => {
                        priority_check.reset_immediately();
                        None
                    }
                    msg => self.on_control(&mut run, msg).await,
                },
            };
            if let Some(ended) = ended {
                return ended;
            }
        }
    }

    /// The policy's priority for a run now.
    fn wanted_nice(&self, gap_fill: bool, viewer_idle: Duration) -> i32 {
        policy::wanted_nice(&self.live.lock(), self.role.on_demand(), gap_fill, viewer_idle)
    }

    /// A line of ffmpeg's `-progress` output.
    fn on_progress(&self, parser: &mut ProgressParser, line: &str, first: u32) {
        let Some(p) = parser.feed(line) else { return };
        let run_start = self.plan.timeline.start(first);
        self.update(|l| {
            l.progress.fps = p.fps;
            l.progress.speed = p.speed.unwrap_or(l.progress.speed);
            l.progress.speed_avg = if l.progress.speed_avg == 0.0 {
                l.progress.speed
            } else {
                0.8 * l.progress.speed_avg + 0.2 * l.progress.speed
            };
            if let Some(t) = p.out_time {
                l.progress.position = run_start + t;
            }
        });
    }

    /// The once-a-second check: priority, stopping, a rung's idleness, falling behind.
    async fn on_tick(&self, run: &mut Run, viewer_idle: Duration) -> Option<RunEnd> {
        let want = self.wanted_nice(run.gap_fill, viewer_idle);
        if want != run.nice {
            if run.child.set_nice(want) {
                tracing::info!(job = %self.id, nice = want, "encoder priority changed");
                run.nice = want;
                self.update(|l| {
                    l.encoder.background = want > 0;
                    if want > 0 {
                        l.encoder.speed_step = 0;
                    }
                });
            } else if want < run.nice {
                // Raising priority back needs privileges: a new run starts at normal priority
                // where the viewer is.
                self.end_run(&mut run.child, run.first).await;
                return Some(RunEnd::Seek(self.live.lock().viewers.at.unwrap_or(run.first)));
            }
        }
        self.apply_stop(run);
        if self.role.on_demand() && self.live.lock().idle_for(policy::RUNG_IDLE) {
            self.end_run(&mut run.child, run.first).await;
            return Some(RunEnd::Idle);
        }
        self.adapt(run).await
    }

    /// Falling behind a viewer: first a faster preset from where the run is, then, with none
    /// left, the lower target gets ahead of the viewer.
    async fn adapt(&self, run: &mut Run) -> Option<RunEnd> {
        let falling = run.nice == 0
            && !self.role.on_demand()
            && !run.stopped
            && self.verdict_of(&self.live.lock()) == Some(Verdict::FallingBehind);
        run.behind = if falling { run.behind + 1 } else { 0 };
        let lower = self.rungs.iter().find(|r| r.role == Role::Lower && r.state() == JobState::Paused);
        let faster = run.plan.faster();
        match policy::next_adaptation(run.behind, run.started.elapsed(), faster.is_some(), lower.is_some())? {
            Adaptation::FasterPreset => {
                let faster = faster.expect("checked");
                self.end_run(&mut run.child, run.first).await;
                let mut l = self.live.lock();
                let k = l.output.segments.next_missing(run.first).unwrap_or(run.first);
                let text = format!(
                    "falling behind the viewer at {:.2}x real time: preset {} -> {} from segment {k}",
                    l.progress.speed_avg,
                    run.plan.preset(),
                    faster.preset()
                );
                self.note(&mut l, text);
                l.encoder.speed_step = faster.speed_step;
                Some(RunEnd::Seek(k))
            }
            Adaptation::StartLower => {
                let lower = lower.expect("checked");
                let mut l = self.live.lock();
                let k = l.viewers.at.unwrap_or(run.first);
                let p = &lower.plan.profile;
                self.note(
                    &mut l,
                    format!("no faster preset left: the lower target {}x{} starts at segment {k}", p.width, p.height),
                );
                lower.prestart(k);
                run.behind = 0;
                None
            }
        }
    }

    /// ffmpeg exited by itself.
    fn on_exit(&self, exit: Exit) -> RunEnd {
        if self.plan.stream_copy {
            // The copy's last segment is whole only if ffmpeg ended well.
            match exit {
                Exit::Success => self.dir.temp_segments().into_iter().for_each(|k| self.dir.complete_copied(k)),
                _ => self.dir.remove_partials(false),
            }
        }
        RunEnd::Exited(exit)
    }

    /// A control message during a run (`None`: the job's handle is gone, a cancel).
    async fn on_control(&self, run: &mut Run, msg: Option<Control>) -> Option<Result<RunEnd>> {
        let first = run.first;
        let (end, note) = match msg {
            Some(Control::Seek(k)) if self.should_restart(k) => {
                tracing::info!(job = %self.id, from = first, to = k, "viewer seeked: restarting the encoder");
                (Ok(RunEnd::Seek(k)), None)
            }
            Some(Control::Overtaken(k)) => {
                let to = self.overtaken_restart(k, first)?;
                let text = format!("the viewer overtook the encoder at segment {k}: restarting it ahead, at {to}");
                (Ok(RunEnd::Seek(to)), Some(text))
            }
            Some(Control::Yield) if run.nice > 0 || self.far_ahead() => {
                (Ok(RunEnd::Yield), Some("gave its encoder slot to another job's viewer".to_owned()))
            }
            Some(Control::Stop(e)) => (Err(e), None),
            None => (Err(Error::new(ErrorCode::Cancelled, "cancelled")), None),
            Some(Control::Seek(_) | Control::Yield | Control::Hold) => return None,
        };
        self.end_run(&mut run.child, first).await;
        if let Some(text) = note {
            self.note(&mut self.live.lock(), text);
        }
        Some(end)
    }

    /// Frees an idle rung's segments once its upscaled job is saved; a later request makes them
    /// again.
    pub(super) fn discard_if_idle(&self) {
        let mut l = self.live.lock();
        if l.state == JobState::Paused {
            // Under the lock: a request cannot start a run in the folder being removed.
            self.dir.wipe();
            l.output.segments = SegmentSet::new(self.plan.timeline.count());
            l.output.sizes.fill(0);
            l.output.peak = None;
            l.output.has_init = false;
        }
    }

    fn on_file_event(&self, path: &Path, first: u32) {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
        if self.plan.stream_copy {
            // The muxer begins segment k only after closing k-1 (a killed run's leftovers are
            // removed), so k-1 is complete.
            if let Some(k) =
                name.strip_suffix(crate::store::names::TEMP_SUFFIX).and_then(|n| self.dir.parse_segment_name(n))
            {
                if k > 0 {
                    self.dir.complete_copied(k - 1);
                }
                return;
            }
        }
        if let Some(k) = self.dir.parse_segment_name(&name) {
            let fresh = !self.live.lock().output.segments.is_ready(k);
            if fresh && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                let has_init = self.adopt_init() || self.dir.container == Container::Ts;
                self.update(|l| l.output.has_init = has_init);
                self.admit(k, Some(first));
            }
        }
    }
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
