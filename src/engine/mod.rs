//! The engine: owns its tokio runtime (so callers from any thread, the CLI, C and .NET, share
//! one), the job registry and every ffmpeg it starts, with bounded concurrency, a queue and an
//! orderly shutdown.
//!
//! [`registry`] finds, plans and registers jobs; [`sources`] caches what is learnt about source
//! files; [`scheduler`] shares the machine between jobs.

mod registry;
pub use registry::{Cleanup, IN_USE};
mod scheduler;
mod sources;

use crate::caps;
use crate::config::{Backend, Config, StreamRequest};
use crate::error::{Error, ErrorCode, Result};
use crate::job::{Job, JobStatus, SegmentInfo, Tools};
use crate::playlist;
use crate::store::{self, cache_files};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub(crate) struct Shared {
    config: Config,
    tools: Tools,
    /// The engine probes sources; jobs never run ffprobe.
    ffprobe: PathBuf,
    backend: Backend,
    /// What the ffmpeg is: plans follow its version.
    ffmpeg_caps: caps::FfmpegCaps,
    salt: [u8; 16],
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    sources: sources::Sources,
    shutting_down: AtomicBool,
    /// Held for the engine's life: one engine per cache folder.
    _lock: std::fs::File,
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

impl Engine {
    /// Starts an engine: validates the config, finds ffmpeg/ffprobe, prepares the cache folder
    /// and resolves `auto` to a backend that passes a test encode.
    pub fn new(mut config: Config) -> Result<Engine> {
        config.validate()?;
        // Relative paths would move with the caller's working directory (and ffmpeg runs inside
        // its job's folder).
        let absolute =
            |p: &Path| std::path::absolute(p).map_err(|e| Error::invalid(format!("config: {}: {e}", p.display())));
        config.cache_dir = absolute(&config.cache_dir)?;
        config.output_dir = config.output_dir.as_deref().map(absolute).transpose()?;
        config.shader_path = config.shader_path.as_deref().map(absolute).transpose()?;
        let ffmpeg = caps::resolve_tool(config.ffmpeg_path.as_deref(), "ffmpeg", None)?;
        let ffprobe = caps::resolve_tool(config.ffprobe_path.as_deref(), "ffprobe", Some(&ffmpeg))?;
        store::prepare_folders(&config.cache_dir, &config.final_dir())?;
        if let Some(shader) = &config.shader_path {
            std::fs::File::open(shader)
                .map_err(|e| Error::invalid(format!("config: shader_path {}: {e}", shader.display())))?;
        }
        let lock = store::lock_cache(&config.cache_dir)?;
        let salt = store::load_salt(&config.cache_dir)?;
        // An engine killed while saving a file left its temp file beside the final names.
        store::remove_dead_temps(&config.final_dir(), None, store::DEAD_TEMP_AGE);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("jellyscale")
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorCode::Internal, format!("cannot start runtime: {e}")))?;
        let remembered = config.cache_dir.join(cache_files::CAPS);
        let ffmpeg_caps = runtime.block_on(caps::ffmpeg_caps(&ffmpeg, Some(&remembered)));
        let backend = match config.backend {
            Backend::Auto => runtime.block_on(caps::choose_backend(&ffmpeg, &config.vaapi_device, &remembered)),
            b => b,
        };
        let slots = Arc::new(Semaphore::new(caps::encoder_slots(backend, config.max_concurrent_jobs)));
        let shared = Arc::new(Shared {
            tools: Tools {
                ffmpeg,
                ffprobe: ffprobe.clone(),
                slots,
                viewer_idle: Duration::from_secs(config.viewer_idle_seconds),
            },
            ffprobe,
            backend,
            ffmpeg_caps,
            salt,
            config,
            jobs: Mutex::new(HashMap::new()),
            sources: sources::Sources::default(),
            shutting_down: AtomicBool::new(false),
            _lock: lock,
        });
        runtime.spawn(scheduler::hold_for_viewers(Arc::downgrade(&shared)));
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

/// Plans a request the way a job would be planned, without an engine: no cache folder, lock or
/// test encodes (`auto` is what an earlier test found for this ffmpeg, else the CPU). For
/// `jellyscale plan`.
pub async fn plan_offline(config: &Config, req: &StreamRequest) -> Result<crate::plan::EncodePlan> {
    config.validate()?;
    let ffmpeg = caps::resolve_tool(config.ffmpeg_path.as_deref(), "ffmpeg", None)?;
    let ffprobe = caps::resolve_tool(config.ffprobe_path.as_deref(), "ffprobe", Some(&ffmpeg))?;
    let input = std::path::absolute(&req.input).map_err(|e| Error::bad_input(format!("bad input path: {e}")))?;
    let media = crate::probe::probe(&ffprobe, &input).await?;
    let index = match req.wants_copy() {
        true => Some(crate::keyframes::scan(&ffprobe, &input).await.map_err(|e| e.message)),
        false => None,
    };
    let remembered = config.cache_dir.join(cache_files::CAPS);
    let backend = match config.backend {
        Backend::Auto => caps::remembered_backend(&ffmpeg, &config.vaapi_device, &remembered).unwrap_or(Backend::Cpu),
        b => b,
    };
    // Asked of the binary itself (one `-version`): planning offline writes nothing.
    let ffmpeg_caps = caps::ffmpeg_caps(&ffmpeg, None).await;
    let planned = crate::plan::plan(
        input,
        media,
        index.as_ref().map(|i| i.as_ref().map_err(Clone::clone)),
        req,
        config,
        backend,
        ffmpeg_caps,
    )?;
    Ok(match planned.cut {
        Some(Ok(cut)) => planned.plan.on_cut(cut),
        _ => planned.plan,
    })
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

    /// What that ffmpeg is, as planning sees it.
    pub fn ffmpeg_caps(&self) -> caps::FfmpegCaps {
        self.shared.ffmpeg_caps
    }

    /// The ffprobe binary.
    pub fn ffprobe(&self) -> &Path {
        &self.shared.ffprobe
    }

    /// The job's full-length VOD media playlist with `query` on every URI.
    pub fn playlist(&self, id: &str, query: &str) -> Result<String> {
        playlist::check_query(query)?;
        Ok(self.job(id)?.media_playlist(query)?.to_string())
    }

    /// The master playlist: the upscaled variant first, then its cheaper rungs (at
    /// `lower/main.m3u8` and `fallback/main.m3u8`, as `jellyscale serve` routes them).
    pub fn master_playlist(&self, id: &str, query: &str) -> Result<String> {
        playlist::check_query(query)?;
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
