//! The job registry: one job per (source, size, mtime, output profile), bounded concurrency with
//! a queue, status, cancel and an orderly shutdown. The engine owns its tokio runtime so callers
//! from any thread (the CLI, C, .NET) share one.

use crate::config::{Backend, Config, StreamRequest};
use crate::error::{Error, ErrorCode, Result};
use crate::job::{Job, JobSpec, JobState, JobStatus, Role, SegmentInfo, Tools};
use crate::keyframes::{self, Keyframes};
use crate::plan::{self, EncodePlan, Profile, SourceCopy};
use crate::playlist;
use crate::probe;
use crate::store::{JobDir, Manifest};
use crate::timeline::{Container, Timeline};
use parking_lot::Mutex;
use sha2::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::Semaphore;

/// What a backend check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackendCheck {
    /// The backend.
    pub backend: Backend,
    /// Whether a one-frame test encode worked.
    pub works: bool,
    /// ffmpeg's reason when it did not.
    pub reason: Option<String>,
}

struct Shared {
    config: Config,
    tools: Tools,
    /// The engine probes sources; jobs never run ffprobe.
    ffprobe: PathBuf,
    backend: Backend,
    salt: [u8; 16],
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    probes: SourceCache<probe::MediaInfo>,
    /// Keyframe indexes of sources whose fallback may be a stream copy.
    keyframes: SourceCache<Arc<Keyframes>>,
    shutting_down: AtomicBool,
    /// Held for the engine's life: one engine per cache folder.
    _lock: std::fs::File,
}

/// Takes the cache folder's lock file, so a second engine on the same folder refuses instead
/// of two of them writing the same segments.
fn lock_cache(cache_dir: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let path = cache_dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("cannot open", &path, e))?;
    // SAFETY: flock on a descriptor we own; released when the file is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(Error::new(
            ErrorCode::Busy,
            format!("cache folder {} is in use by another engine", cache_dir.display()),
        ));
    }
    Ok(file)
}

/// A cloneable handle for async code running on the engine's runtime (the HTTP server).
#[derive(Clone)]
pub struct EngineHandle {
    shared: Arc<Shared>,
}

/// The engine: owns the runtime, the job registry and every ffmpeg it starts.
pub struct Engine {
    handle: EngineHandle,
    runtime: Option<tokio::runtime::Runtime>,
}

fn resolve_tool(configured: Option<&Path>, name: &str, beside: Option<&Path>) -> Result<PathBuf> {
    let path = match configured {
        Some(p) => p.to_path_buf(),
        None => beside
            .and_then(|b| b.parent())
            .map(|dir| dir.join(name))
            .filter(|p| p.is_file())
            .or_else(|| which::which(name).ok())
            .ok_or_else(|| Error::ffmpeg(format!("{name} not found on PATH (install ffmpeg or set {name}_path)")))?,
    };
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(path),
        Ok(_) => Err(Error::ffmpeg(format!("{name} at {} is not an executable file", path.display()))),
        Err(e) => Err(Error::ffmpeg(format!("{name} at {}: {e}", path.display()))),
    }
}

fn load_salt(cache_dir: &Path) -> Result<[u8; 16]> {
    let path = cache_dir.join(".salt");
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(salt) = <[u8; 16]>::try_from(bytes.as_slice()) {
            return Ok(salt);
        }
    }
    let salt: [u8; 16] = rand::random();
    crate::store::write_atomic(&path, &salt)?;
    Ok(std::fs::read(&path).ok().and_then(|b| b.try_into().ok()).unwrap_or(salt))
}

/// Runs a one-frame test encode on `backend` with `ffmpeg`.
pub async fn check_backend(ffmpeg: &Path, backend: Backend, vaapi_device: &str) -> BackendCheck {
    let (works, reason) = try_ffmpeg(ffmpeg, plan::capability_test_args(backend, vaapi_device)).await;
    BackendCheck { backend, works, reason }
}

/// Runs a one-frame libplacebo filter on a Vulkan device: can shader upscaling run here?
pub async fn check_shader_support(ffmpeg: &Path) -> (bool, Option<String>) {
    try_ffmpeg(ffmpeg, plan::shader_test_args()).await
}

async fn try_ffmpeg(ffmpeg: &Path, args: Vec<std::ffi::OsString>) -> (bool, Option<String>) {
    let run =
        tokio::process::Command::new(ffmpeg).args(args).stdin(std::process::Stdio::null()).kill_on_drop(true).output();
    match tokio::time::timeout(Duration::from_secs(20), run).await {
        Ok(Ok(out)) if out.status.success() => (true, None),
        Ok(Ok(out)) => (false, Some(plan::explain_backend_failure(&String::from_utf8_lossy(&out.stderr)))),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, Some("test encode timed out".to_owned())),
    }
}

/// Several viewers: while an encoder that serves a viewer falls behind, background encoders
/// (gap filling, jobs nobody watches) stop (SIGSTOP) and give it the CPU; they continue once
/// no viewer is starved. Queued jobs with a waiting viewer get a background job's encoder slot.
/// Checked once a second.
async fn hold_for_viewers(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        let jobs: Vec<Arc<Job>> = shared.jobs.lock().values().filter(|j| j.role() == Role::Upscaled).cloned().collect();
        let starving = jobs.iter().any(|j| j.starved());
        for j in &jobs {
            j.set_hold(starving && j.is_background());
        }
        // Encoder slots: a viewer waiting in the queue takes one from a background run; a run
        // 5 minutes ahead of its viewer lets queued jobs go first (never when it runs alone).
        // One yield a tick, so slots move one at a time.
        let viewer_queued = jobs.iter().any(|j| j.viewer_waiting_in_queue());
        let any_queued = jobs.iter().any(|j| j.state() == JobState::Queued);
        let giver = jobs.iter().find(|j| (viewer_queued && j.is_background()) || (any_queued && j.far_ahead()));
        if let Some(j) = giver {
            j.yield_slot();
        }
    }
}

/// Probe results kept for joining viewers.
const PROBE_CACHE_SIZE: usize = 1024;

/// Encoder sessions a consumer NVIDIA GPU allows at once.
const NVENC_SESSIONS: usize = 8;

/// The GPU backends in order of preference for `auto`.
pub const GPU_BACKENDS: [Backend; 3] = [Backend::Nvenc, Backend::Qsv, Backend::Vaapi];

impl Engine {
    /// Starts an engine: validates the config, finds ffmpeg/ffprobe, prepares the cache folder
    /// and resolves `auto` to a backend that passes a test encode.
    pub fn new(mut config: Config) -> Result<Engine> {
        config.validate()?;
        // Relative folders would move with the caller's working directory.
        let absolute =
            |p: &Path| std::path::absolute(p).map_err(|e| Error::invalid(format!("config: {}: {e}", p.display())));
        config.cache_dir = absolute(&config.cache_dir)?;
        config.output_dir = config.output_dir.as_deref().map(absolute).transpose()?;
        let ffmpeg = resolve_tool(config.ffmpeg_path.as_deref(), "ffmpeg", None)?;
        let ffprobe = resolve_tool(config.ffprobe_path.as_deref(), "ffprobe", Some(&ffmpeg))?;
        for dir in [config.cache_dir.clone(), config.final_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        }
        if let Some(shader) = &config.shader_path {
            std::fs::File::open(shader)
                .map_err(|e| Error::invalid(format!("config: shader_path {}: {e}", shader.display())))?;
        }
        let lock = lock_cache(&config.cache_dir)?;
        let salt = load_salt(&config.cache_dir)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("jellyscale")
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot start runtime: {e}")))?;
        let backend = match config.backend {
            Backend::Auto => runtime.block_on(async {
                for b in GPU_BACKENDS {
                    let check = check_backend(&ffmpeg, b, &config.vaapi_device).await;
                    if check.works {
                        return b;
                    }
                    tracing::info!("backend {b:?} unusable: {}", check.reason.unwrap_or_default());
                }
                tracing::info!("no GPU backend works here; using the CPU");
                Backend::Cpu
            }),
            b => b,
        };
        // Consumer NVIDIA cards open at most 8 encoder sessions at once; one job holds one.
        let slots = if backend == Backend::Nvenc {
            config.max_concurrent_jobs.min(NVENC_SESSIONS)
        } else {
            config.max_concurrent_jobs
        };
        let slots = Arc::new(Semaphore::new(slots));
        let shared = Arc::new(Shared {
            tools: Tools { ffmpeg, slots, viewer_idle: Duration::from_secs(config.viewer_idle_seconds) },
            ffprobe,
            backend,
            salt,
            config,
            jobs: Mutex::new(HashMap::new()),
            probes: SourceCache::default(),
            keyframes: SourceCache::default(),
            shutting_down: AtomicBool::new(false),
            _lock: lock,
        });
        runtime.spawn(hold_for_viewers(Arc::downgrade(&shared)));
        let engine = Engine { handle: EngineHandle { shared }, runtime: Some(runtime) };
        engine.block_on(engine.handle.discover());
        Ok(engine)
    }

    /// A handle for async code on this engine's runtime.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// The engine's runtime, for running async code (servers, waits) on it.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("runtime lives until drop")
    }

    /// Blocks on a future on the engine's runtime. Not for use from inside that runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime().block_on(f)
    }

    /// Starts (or joins) the job for a request; see [`EngineHandle::start`].
    pub fn start(&self, req: StreamRequest) -> Result<JobStatus> {
        self.block_on(self.handle.start(req))
    }

    /// Cancels every job, waits for their ffmpeg processes to be gone, then stops the runtime.
    /// Finished files and segments on disk stay.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(rt) = self.runtime.take() else { return };
        self.handle.shared.shutting_down.store(true, Ordering::SeqCst);
        self.handle.shared.tools.slots.close();
        let jobs: Vec<Arc<Job>> = self.handle.shared.jobs.lock().values().cloned().collect();
        rt.block_on(async {
            for j in &jobs {
                j.cancel();
            }
            for j in &jobs {
                j.wait_terminal(Duration::from_secs(30)).await;
            }
        });
        rt.shutdown_timeout(Duration::from_secs(5));
    }
}

/// The probe cache's key: a source's path with its size and mtime, so a changed file is probed
/// again.
fn probe_key(input: &Path) -> Option<(PathBuf, u64, u128)> {
    let m = std::fs::metadata(input).ok()?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Some((input.to_path_buf(), m.len(), mtime))
}

/// What the engine learnt about sources, per (path, size, mtime): a changed file is a new key.
struct SourceCache<T>(Mutex<HashMap<(PathBuf, u64, u128), T>>);

impl<T> Default for SourceCache<T> {
    fn default() -> Self {
        SourceCache(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> SourceCache<T> {
    fn get(&self, key: &(PathBuf, u64, u128)) -> Option<T> {
        self.0.lock().get(key).cloned()
    }

    fn put(&self, key: (PathBuf, u64, u128), value: T) {
        let mut cache = self.0.lock();
        // Bounded: forget everything rather than grow without end.
        if cache.len() >= PROBE_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, value);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::ops::Deref for Engine {
    type Target = EngineHandle;
    fn deref(&self) -> &EngineHandle {
        &self.handle
    }
}

impl EngineHandle {
    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The backend jobs use (`auto` resolved).
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// The ffmpeg binary jobs run.
    pub fn ffmpeg(&self) -> &Path {
        &self.shared.tools.ffmpeg
    }

    /// The ffprobe binary.
    pub fn ffprobe(&self) -> &Path {
        &self.shared.ffprobe
    }

    /// Looks a job up by id.
    pub fn job(&self, id: &str) -> Result<Arc<Job>> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(Error::not_found("malformed job id"));
        }
        self.shared.jobs.lock().get(id).cloned().ok_or_else(|| Error::not_found(format!("no job {id}")))
    }

    /// A job id: 32 hex digits of a salted SHA-256 over `parts`.
    fn job_id(&self, parts: &[&[u8]]) -> String {
        let mut hasher = sha2::Sha256::new();
        hasher.update(self.shared.salt);
        for p in parts {
            hasher.update(p);
        }
        hex::encode(&hasher.finalize()[..16])
    }

    /// ffprobe's result for a source if it is cached for its current (size, mtime).
    fn cached_probe(&self, input: &Path) -> Option<probe::MediaInfo> {
        self.shared.probes.get(&probe_key(input)?)
    }

    /// Probes a source once per (path, size, mtime): a second viewer joins without an ffprobe.
    /// Until ffprobe's result is cached, a caller's description stands in for it.
    async fn probe_cached(&self, input: &Path, described: Option<&probe::MediaInfo>) -> Result<probe::MediaInfo> {
        let key = probe_key(input);
        if let Some(hit) = key.as_ref().and_then(|k| self.shared.probes.get(k)) {
            return Ok(hit);
        }
        if let Some(media) = described {
            return Ok(media.clone());
        }
        let media = probe::probe(self.ffprobe(), input).await?;
        if let Some(k) = key {
            self.remember_probe(k, media.clone());
        }
        Ok(media)
    }

    fn remember_probe(&self, key: (PathBuf, u64, u128), media: probe::MediaInfo) {
        self.shared.probes.put(key, media);
    }

    /// The keyframe index of a source's video stream, read once per (path, size, mtime) and
    /// waited for at most `keyframe_read_seconds`: a longer read goes on and is cached.
    async fn keyframes_cached(&self, input: &Path) -> Result<Arc<Keyframes>> {
        let key = probe_key(input);
        if let Some(hit) = key.as_ref().and_then(|k| self.shared.keyframes.get(k)) {
            return Ok(hit);
        }
        let (this, path) = (self.clone(), input.to_path_buf());
        let read = tokio::spawn(async move {
            let index = Arc::new(keyframes::scan(this.ffprobe(), &path).await?);
            if let Some(k) = key {
                this.shared.keyframes.put(k, index.clone());
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

    /// The timeline and the source's video to copy from [`plan::source_copy`] when the request
    /// allowed a copy (`index` was read), else the fixed timeline; why not is logged.
    fn copy_timeline(
        input: &Path,
        media: &probe::MediaInfo,
        index: Option<Result<Arc<Keyframes>>>,
        fixed: Timeline,
    ) -> (Timeline, Option<SourceCopy>) {
        let Some(index) = index else { return (fixed, None) };
        match index.map_err(|e| e.message).and_then(|index| plan::source_copy(media, &index, &fixed)) {
            Ok((cut, copy)) => {
                tracing::info!(source = %input.display(), segments = cut.count(), "segments follow the source's keyframes: the fallback is a stream copy");
                (cut, Some(copy))
            }
            Err(why) => {
                tracing::info!(source = %input.display(), "the fallback is encoded: {why}");
                (fixed, None)
            }
        }
    }

    /// Checks with ffprobe the description a job was planned from; the job fails if the file
    /// contradicts it (or is no usable video). ffprobe's result is cached either way, so the
    /// next request plans from it.
    async fn check_description(
        &self,
        input: PathBuf,
        described: probe::MediaInfo,
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

    /// Probes a request's source and plans its job without starting anything.
    pub async fn plan(&self, req: &StreamRequest) -> Result<EncodePlan> {
        let c = &self.shared.config;
        let input = std::path::absolute(&req.input).map_err(|e| Error::bad_input(format!("bad input path: {e}")))?;
        // A copying fallback needs the keyframes: read beside the probe (the first video stream
        // that is no cover is the one the probe picks), unless a description rules a copy out.
        let copy_wanted = req.copy_fallback
            && req.codec == crate::Codec::H264
            && req.media.as_ref().is_none_or(|m| m.video_codec == "h264");
        let (media, index) = tokio::join!(self.probe_cached(&input, req.media.as_ref()), async {
            match copy_wanted {
                true => Some(self.keyframes_cached(&input).await),
                false => None,
            }
        });
        let media = media?;
        let (width, height) = plan::target_size(
            media.width,
            media.height,
            req.scale.unwrap_or(c.default_scale),
            req.max_height.unwrap_or(c.max_height),
        )?;
        let audio = plan::choose_audio(&media, req.audio_stream)?;
        let bit_depth = if req.codec == crate::Codec::Hevc && media.bit_depth >= 10 { 10 } else { 8 };
        let fixed = Timeline {
            duration: media.duration,
            segment_seconds: c.segment_seconds,
            first_seconds: c.first_segment_seconds.min(c.segment_seconds),
            fps: media.fps,
            cuts: None,
        };
        let (timeline, source_copy) = Self::copy_timeline(&input, &media, index, fixed);
        let plan = EncodePlan {
            input,
            media,
            profile: Profile { codec: req.codec, width, height, bit_depth },
            backend: self.shared.backend,
            timeline,
            audio,
            out_dir: PathBuf::new(),
            cpu_preset: c.cpu_preset.clone(),
            vaapi_device: c.vaapi_device.clone(),
            shader: c.shader_path.clone(),
            speed_step: 0,
            bitrate_cap: None,
            source_copy,
            stream_copy: false,
        };
        Ok(plan)
    }

    /// Probes and plans a request and derives its job identity and places on disk (no job yet).
    async fn spec_for(&self, req: &StreamRequest) -> Result<JobSpec> {
        let mut plan = self.plan(req).await?;
        let meta = std::fs::metadata(&plan.input).map_err(|e| Error::bad_input(format!("input not readable: {e}")))?;
        let mtime_ns =
            meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i128);
        let fixed_profile = format!(
            "{} {}x{} {}bit audio={:?} {:?} seg={}/{} shader={:?}",
            plan.profile.codec.name(),
            plan.profile.width,
            plan.profile.height,
            plan.profile.bit_depth,
            plan.audio.as_ref().map(|a| a.index),
            plan.backend,
            plan.timeline.segment_seconds,
            plan.timeline.first_seconds,
            plan.shader
        );
        let id_of = |profile: &str| {
            self.job_id(&[
                plan.input.as_os_str().as_encoded_bytes(),
                &[0],
                &meta.len().to_le_bytes(),
                &mtime_ns.to_le_bytes(),
                profile.as_bytes(),
            ])
        };
        let (mut profile, mut id) = (fixed_profile.clone(), id_of(&fixed_profile));
        if plan.timeline.cuts.is_some() {
            // Other segments than the fixed timeline's: another job. One made on the fixed
            // timeline before (its keyframe read took too long then) is kept instead of
            // starting over.
            let cut_profile = format!("{fixed_profile} cut=keyframes");
            let cut_id = id_of(&cut_profile);
            let known = |id: &str| self.job(id).is_ok() || self.shared.config.cache_dir.join(id).is_dir();
            if known(&id) && !known(&cut_id) {
                tracing::info!(job = %id, "the job on the fixed timeline is kept: its fallback stays encoded");
                plan.timeline.cuts = None;
                plan.source_copy = None;
            } else {
                (profile, id) = (cut_profile, cut_id);
            }
        }
        let timeline = plan.timeline.clone();
        let container = Container::for_codec(plan.profile.codec);
        let dir = JobDir { path: self.shared.config.cache_dir.join(&id), container };
        plan.out_dir = dir.path.clone();
        let stem = plan.input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "video".into());
        let final_path = self.shared.config.final_dir().join(format!(
            "{stem} - Upscaled {}p {} [{}].{}",
            plan.profile.height,
            plan.profile.codec.name(),
            &id[..8],
            container.final_ext()
        ));
        let manifest = Manifest {
            input: plan.input.clone(),
            request: Some(StreamRequest { start_segment: None, media: None, ..req.clone() }),
            source_size: meta.len(),
            source_mtime_ns: mtime_ns,
            profile,
            segment_seconds: timeline.segment_seconds,
            final_path: None,
            final_offsets: Vec::new(),
            media: self.cached_probe(&plan.input),
            keyframes: probe_key(&plan.input)
                .filter(|_| timeline.cuts.is_some())
                .and_then(|k| self.shared.keyframes.get(&k))
                .map(|k| (*k).clone()),
        };
        Ok(JobSpec { id, role: Role::Upscaled, plan, dir, final_path, manifest, confirmation: None })
    }

    /// Starts the job for a request, or returns the running, paused or finished one for the
    /// same source and profile. Probes the source (tens of milliseconds) but never waits for
    /// the encode.
    pub async fn start(&self, req: StreamRequest) -> Result<JobStatus> {
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorCode::ShuttingDown, "engine is shutting down"));
        }
        let mut spec = self.spec_for(&req).await?;
        let start_segment = req.start_segment.unwrap_or(0);
        let mut jobs = self.shared.jobs.lock();
        if let Some(job) = jobs.get(&spec.id).filter(|j| !matches!(j.state(), JobState::Failed | JobState::Cancelled)) {
            job.touch();
            if job.state() == JobState::Paused {
                job.resume(start_segment);
            }
            return Ok(job.status());
        }
        let queued = jobs.values().filter(|j| j.state() == JobState::Queued).count();
        if queued >= self.shared.config.max_queued_jobs + self.shared.config.max_concurrent_jobs {
            return Err(Error::new(ErrorCode::Busy, format!("{queued} jobs already waiting")));
        }
        std::fs::create_dir_all(&spec.dir.path)
            .map_err(|e| Error::io("cannot create job folder", &spec.dir.path, e))?;
        // Planned from the caller's description (ffprobe's answer was not at hand): ffprobe
        // checks it while the job runs.
        let mut planned_from = None;
        if let Some(described) = req.media.filter(|_| spec.manifest.media.is_none()) {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (this, input) = (self.clone(), spec.plan.input.clone());
            spec.confirmation = Some(tokio::spawn(async move { this.check_description(input, described, rx).await }));
            planned_from = Some(tx);
        }
        let job = self.register(&mut jobs, spec, start_segment, false);
        if let Some(tx) = planned_from {
            let _ = tx.send(Arc::downgrade(&job));
        }
        Ok(job.status())
    }

    /// Launches an upscaled job with its cheaper rungs (the lower target when there is one, and
    /// the fallback), idle until a viewer asks for them, and registers all: a rung's playlist
    /// and segments are served by its own id.
    fn register(&self, jobs: &mut HashMap<String, Arc<Job>>, spec: JobSpec, start: u32, paused: bool) -> Arc<Job> {
        let ladder = [(Role::Lower, spec.plan.lower_target()), (Role::Fallback, Some(spec.plan.fallback()))];
        let rungs: Vec<Arc<Job>> = ladder
            .into_iter()
            .filter_map(|(role, plan)| {
                let plan = plan?;
                let id = self.job_id(&[role.name().as_bytes(), &[0], spec.id.as_bytes()]);
                let dir = JobDir { path: spec.dir.path.join(role.name()), container: spec.dir.container };
                let rung = JobSpec {
                    id,
                    role,
                    plan: EncodePlan { out_dir: dir.path.clone(), ..plan },
                    dir,
                    final_path: spec.final_path.clone(),
                    manifest: spec.manifest.clone(),
                    confirmation: None,
                };
                Some(Job::launch(rung, 0, self.shared.tools.clone(), true, Vec::new()))
            })
            .collect();
        for r in &rungs {
            jobs.insert(r.id().to_owned(), r.clone());
        }
        let id = spec.id.clone();
        let job = Job::launch(spec, start, self.shared.tools.clone(), paused, rungs);
        jobs.insert(id, job.clone());
        job
    }

    /// Finds unfinished jobs in the cache folder (after a crash or restart) and registers them,
    /// paused or running per `resume_unfinished`. A job whose source changed since its segments
    /// were made is discarded: its segments must never be mixed with new ones.
    async fn discover(&self) {
        let Ok(entries) = std::fs::read_dir(&self.shared.config.cache_dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if self.job(&name).is_ok() || name.len() != 32 {
                continue;
            }
            let dir = JobDir { path: entry.path(), container: Container::Ts };
            let Some(manifest) = dir.read_manifest() else { continue };
            let Some(req) = manifest.request.clone() else { continue };
            if let (Some(media), Some(key)) = (&manifest.media, probe_key(&manifest.input)) {
                // The same file as when the job was made: ffprobe's answer then still holds.
                if key.1 == manifest.source_size && key.2 as i128 == manifest.source_mtime_ns {
                    self.remember_probe(key.clone(), media.clone());
                    if let Some(index) = &manifest.keyframes {
                        self.shared.keyframes.put(key, Arc::new(index.clone()));
                    }
                }
            }
            let spec = match self.spec_for(&req).await {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::warn!(job = %name, "unfinished job cannot resume: {}", e.message);
                    continue;
                }
            };
            if spec.id != name {
                if spec.manifest.source_size != manifest.source_size
                    || spec.manifest.source_mtime_ns != manifest.source_mtime_ns
                {
                    tracing::info!(job = %name, "source changed since its segments were made: discarding them");
                    dir.wipe();
                }
                continue;
            }
            let paused = !self.shared.config.resume_unfinished;
            let job = self.register(&mut self.shared.jobs.lock(), spec, 0, paused);
            tracing::info!(job = %name, state = ?job.state(), "found job on disk");
        }
    }

    /// Status of one job.
    pub fn status(&self, id: &str) -> Result<JobStatus> {
        Ok(self.job(id)?.status())
    }

    /// Status of every upscaled job (each shows its cheaper rungs inside).
    pub fn list(&self) -> Vec<JobStatus> {
        let mut all: Vec<JobStatus> =
            self.shared.jobs.lock().values().filter(|j| j.role() == Role::Upscaled).map(|j| j.status()).collect();
        all.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        all
    }

    /// Cancels a job: its ffmpeg is killed, no finished file appears, segments stay for reuse.
    pub fn cancel(&self, id: &str) -> Result<()> {
        self.job(id)?.cancel();
        Ok(())
    }

    /// The job's full-length VOD media playlist with `query` on every URI.
    pub fn playlist(&self, id: &str, query: &str) -> Result<String> {
        Ok(self.job(id)?.media_playlist(query).to_string())
    }

    /// The master playlist: the upscaled variant first, then its cheaper rungs (at
    /// `lower/main.m3u8` and `fallback/main.m3u8`, as `jellyscale serve` routes them).
    pub fn master_playlist(&self, id: &str, query: &str) -> Result<String> {
        let job = self.job(id)?;
        let variant = |j: &Job, uri: String| playlist::Variant {
            bandwidth: j.bandwidth(),
            width: j.plan().profile.width,
            height: j.plan().profile.height,
            codecs: j.plan().codecs(),
            uri,
        };
        let mut variants = vec![variant(&job, "main.m3u8".to_owned())];
        for r in job.rungs() {
            variants.push(variant(r, format!("{}/main.m3u8", r.role().name())));
        }
        Ok(playlist::master_playlist(&variants, job.plan().container(), query))
    }

    /// Waits (bounded) for a segment of a job; see [`Job::wait_segment`].
    pub async fn wait_segment(&self, id: &str, index: u32, timeout: Duration) -> Result<SegmentInfo> {
        self.job(id)?.wait_segment(index, timeout).await
    }
}
