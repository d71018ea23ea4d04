//! The job registry: one job per (source, size, mtime, output profile), found again on disk
//! after a restart. Planning and disk work happen before the registry lock is taken; only the
//! lookup and the insert happen under it.

use super::sources::source_key;
use super::EngineHandle;
use crate::config::StreamRequest;
use crate::error::{Error, ErrorCode, Result};
use crate::identity::SourceIdentity;
use crate::job::{Job, JobSpec, JobState, JobStatus, Role};
use crate::plan::{self, EncodePlan};
use crate::store::{self, JobDir, Manifest};
use crate::timeline::Container;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A finished job a viewer asked anything of this recently is in use: cleanup keeps it.
pub const IN_USE: Duration = Duration::from_secs(3600);

/// What a cleanup deleted.
#[derive(Debug, Default, serde::Serialize)]
pub struct Cleanup {
    /// The finished files and job folders deleted.
    pub deleted: Vec<std::path::PathBuf>,
    /// Bytes they held.
    pub freed_bytes: u64,
}

impl EngineHandle {
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

    /// Probes a request's source and plans its job without starting anything.
    pub async fn plan(&self, req: &StreamRequest) -> Result<EncodePlan> {
        Ok(self.spec_for(req).await?.plan)
    }

    /// Probes and plans a request and derives its job identity and places on disk (no job yet).
    async fn spec_for(&self, req: &StreamRequest) -> Result<JobSpec> {
        let input = std::path::absolute(&req.input).map_err(|e| Error::bad_input(format!("bad input path: {e}")))?;
        // A copying fallback needs the keyframes: read beside the probe (the first video stream
        // that is no cover is the one the probe picks), unless a description rules a copy out.
        let (media, index) = tokio::join!(self.probe_cached(&input, req.media.as_ref()), async {
            match req.wants_copy() {
                true => Some(self.keyframes_cached(&input).await),
                false => None,
            }
        });
        let index = index.map(|i| i.map_err(|e| e.message));
        let planned = plan::plan(
            input.clone(),
            media?,
            index.as_ref().map(|i| i.as_deref().map_err(Clone::clone)),
            req,
            &self.shared.config,
            self.shared.backend,
            self.shared.ffmpeg_caps,
        )?;
        let meta = std::fs::metadata(&input).map_err(|e| Error::bad_input(format!("input not readable: {e}")))?;
        let mtime_ns =
            meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i128);
        let fixed = planned.plan;
        let fixed_profile = profile_key(&fixed);
        let id_of = |profile: &str| {
            self.job_id(&[
                input.as_os_str().as_encoded_bytes(),
                &[0],
                &meta.len().to_le_bytes(),
                &mtime_ns.to_le_bytes(),
                profile.as_bytes(),
            ])
        };
        let fixed_id = id_of(&fixed_profile);
        let (plan, profile, id) = match planned.cut {
            Some(Ok(cut)) => {
                // Other segments than the fixed timeline's: another job. One made on the fixed
                // timeline before (its keyframe read took too long then) is kept instead of
                // starting over.
                let cut_profile = format!("{fixed_profile} cut=keyframes");
                let cut_id = id_of(&cut_profile);
                let known = |id: &str| self.job(id).is_ok() || self.shared.config.cache_dir.join(id).is_dir();
                if known(&fixed_id) && !known(&cut_id) {
                    tracing::info!(job = %fixed_id, "the job on the fixed timeline is kept: its fallback stays encoded");
                    (fixed, fixed_profile, fixed_id)
                } else {
                    tracing::info!(source = %input.display(), segments = cut.0.count(), "segments follow the source's keyframes: the fallback is a stream copy");
                    (fixed.on_cut(cut), cut_profile, cut_id)
                }
            }
            Some(Err(why)) => {
                tracing::info!(source = %input.display(), "the fallback is encoded: {why}");
                (fixed, fixed_profile, fixed_id)
            }
            None => (fixed, fixed_profile, fixed_id),
        };
        let container = Container::for_codec(plan.profile.codec);
        let dir = JobDir { path: self.shared.config.cache_dir.join(&id), container };
        let final_path = self.final_path_for(&plan, &id);
        let manifest = self.manifest_for(req, &plan, profile, meta.len(), mtime_ns);
        Ok(JobSpec { id, role: Role::Upscaled, plan, dir, final_path, manifest, confirmation: None })
    }

    /// Where a job's finished file goes: the source's name, what it was made as and the job's
    /// id, in the output folder.
    fn final_path_for(&self, plan: &EncodePlan, id: &str) -> std::path::PathBuf {
        let container = Container::for_codec(plan.profile.codec);
        let stem = plan.input.file_stem().unwrap_or("video".as_ref());
        let suffix = format!(
            " - Upscaled {}p {} [{}].{}",
            plan.profile.height,
            plan.profile.codec.name(),
            &id[..8],
            container.final_ext()
        );
        self.shared.config.final_dir().join(crate::store::fitting_name(stem, &suffix))
    }

    /// What a restarted engine needs to recognise and resume the job.
    fn manifest_for(
        &self,
        req: &StreamRequest,
        plan: &EncodePlan,
        profile: String,
        source_size: u64,
        source_mtime_ns: i128,
    ) -> Manifest {
        Manifest {
            input: plan.input.clone(),
            request: Some(StreamRequest { start_segment: None, start_seconds: None, media: None, ..req.clone() }),
            source_size,
            source_mtime_ns,
            profile,
            segment_seconds: plan.timeline.segment_seconds,
            final_path: None,
            final_offsets: Vec::new(),
            media: self.cached_probe(&plan.input),
            keyframes: source_key(&plan.input)
                .filter(|_| plan.timeline.cuts.is_some())
                .and_then(|k| self.shared.sources.keyframes.get(&k))
                .map(|k| (*k).clone()),
            identity: None,
            final_identity: None,
        }
    }

    /// Starts the job for a request, or returns the running, paused or finished one for the
    /// same source and profile. Probes the source (tens of milliseconds) but never waits for
    /// the encode.
    pub async fn start(&self, req: StreamRequest) -> Result<JobStatus> {
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorCode::ShuttingDown, "engine is shutting down"));
        }
        let mut spec = self.spec_for(&req).await?;
        let start_segment = req.first_segment(&spec.plan.timeline);
        if let Some(job) = self.joinable(&spec.id) {
            return Ok(Self::join(&job, start_segment));
        }
        // Disk work before the registry lock: the folder may already be there; the source's
        // identity is what every run checks the file against.
        if !spec.dir.path.is_dir() {
            self.remove_superseded(&spec.plan.input, spec.manifest.source_size, spec.manifest.source_mtime_ns);
        }
        std::fs::create_dir_all(&spec.dir.path)
            .map_err(|e| Error::io("cannot create job folder", &spec.dir.path, e))?;
        // Whatever its user cancelled before, a start wants it again.
        spec.dir.set_cancelled(false);
        spec.manifest.identity = Some(
            SourceIdentity::of(&spec.plan.input)
                .map_err(|e| Error::bad_input(format!("input not readable: {}: {e}", spec.plan.input.display())))?,
        );
        let mut jobs = self.shared.jobs.lock();
        // Another start for the same job may have won the race while the folder was made.
        if let Some(job) = jobs.get(&spec.id).filter(|j| !matches!(j.state(), JobState::Failed | JobState::Cancelled)) {
            return Ok(Self::join(job, start_segment));
        }
        let queued = jobs.values().filter(|j| j.state() == JobState::Queued).count();
        if queued >= self.shared.config.max_queued_jobs + self.shared.config.max_concurrent_jobs {
            return Err(Error::new(ErrorCode::Busy, format!("{queued} jobs already waiting")));
        }
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
        drop(jobs);
        if let Some(tx) = planned_from {
            let _ = tx.send(Arc::downgrade(&job));
        }
        self.read_frames_for(&job);
        Ok(job.status())
    }

    /// The registered job of this id that a new viewer can join (not failed or cancelled, and
    /// if finished, its file still whole: a damaged one is set aside and the job made again).
    fn joinable(&self, id: &str) -> Option<Arc<Job>> {
        let job = self.shared.jobs.lock().get(id).cloned()?;
        match job.state() {
            JobState::Failed | JobState::Cancelled => None,
            JobState::Done if !job.final_intact() => {
                job.set_aside_final();
                self.shared.jobs.lock().remove(id);
                None
            }
            _ => Some(job),
        }
    }

    /// A new viewer joins a job: it counts as viewer activity, and a paused job resumes where
    /// the viewer starts.
    fn join(job: &Arc<Job>, start_segment: u32) -> JobStatus {
        job.touch();
        if job.state() == JobState::Paused {
            job.resume(start_segment);
        }
        job.status()
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
                    plan,
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
    pub(crate) async fn discover(&self) {
        let Ok(entries) = std::fs::read_dir(&self.shared.config.cache_dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if self.job(&name).is_ok() || name.len() != 32 {
                continue;
            }
            let dir = JobDir { path: entry.path(), container: Container::Ts };
            let Some(manifest) = dir.read_manifest() else { continue };
            let Some(req) = manifest.request.clone() else { continue };
            self.remember_from_manifest(&manifest);
            let spec = match self.spec_for(&req).await {
                Ok(spec) => {
                    JobSpec { manifest: Manifest { identity: manifest.identity.clone(), ..spec.manifest }, ..spec }
                }
                Err(e) => {
                    tracing::warn!(job = %name, "unfinished job cannot resume: {}", e.message);
                    continue;
                }
            };
            if spec.id != name {
                if spec.manifest.source_size != manifest.source_size
                    || spec.manifest.source_mtime_ns != manifest.source_mtime_ns
                {
                    // Its folder and its finished file, which no manifest would name any more.
                    tracing::info!(job = %name, "source changed since its segments were made: discarding them");
                    self.remove_superseded(&spec.plan.input, spec.manifest.source_size, spec.manifest.source_mtime_ns);
                }
                continue;
            }
            let cancelled = dir.is_cancelled();
            let paused = cancelled || !self.shared.config.resume_unfinished;
            let job = self.register(&mut self.shared.jobs.lock(), spec, 0, paused);
            if cancelled {
                // Listed as its user left it; its segments stay for a later start.
                job.cancel();
            } else if job.state() != JobState::Done {
                self.read_frames_for(&job);
            }
            tracing::info!(job = %name, state = ?job.state(), "found job on disk");
        }
    }

    /// A manifest's ffprobe answer and keyframe index still hold for its source if the file is
    /// the same as when the job was made: a restarted engine then needs no ffprobe for it.
    fn remember_from_manifest(&self, manifest: &Manifest) {
        let (Some(media), Some(key)) = (&manifest.media, source_key(&manifest.input)) else { return };
        let same_file = manifest.identity.as_ref().is_none_or(|i| i.inode == key.3);
        if key.1 == manifest.source_size && key.2 as i128 == manifest.source_mtime_ns && same_file {
            self.shared.sources.probes.put(key.clone(), media.clone());
            if let Some(index) = &manifest.keyframes {
                self.shared.sources.keyframes.put(key, Arc::new(index.clone()));
            }
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

    /// Deletes finished files and job folders older than `max_age`, then the oldest until what
    /// is stored fits `max_bytes` (both: `None` for no limit). Jobs at work (queued, running,
    /// finalizing, or finished with a viewer in the last `in_use`, [`IN_USE`] through the C
    /// ABI) are kept whatever their age; a deleted job leaves the registry. Returns what was
    /// deleted and the bytes freed.
    pub fn cleanup(&self, max_age: Option<Duration>, max_bytes: Option<u64>, in_use: Duration) -> Result<Cleanup> {
        let c = &self.shared.config;
        let in_use: Vec<(std::path::PathBuf, std::path::PathBuf)> = self
            .shared
            .jobs
            .lock()
            .values()
            .filter(|j| j.role() == Role::Upscaled && (!j.state().is_terminal() || !j.idle_for(in_use)))
            .map(|j| (c.cache_dir.join(j.id()), j.final_path().to_path_buf()))
            .collect();
        let protected = |e: &store::Stored| in_use.iter().any(|(dir, fin)| &e.path == dir || &e.path == fin);
        let chosen = store::select_for_cleanup(
            store::stored(&c.cache_dir, &c.final_dir()),
            protected,
            std::time::SystemTime::now(),
            max_age,
            max_bytes,
        );
        let mut done = Cleanup::default();
        for entry in chosen {
            store::delete(&entry)?;
            tracing::info!(path = %entry.path.display(), bytes = entry.bytes, "cleanup deleted");
            self.forget_stored(&entry.path);
            done.freed_bytes += entry.bytes;
            done.deleted.push(entry.path);
        }
        Ok(done)
    }

    /// Cancels and unregisters the jobs (with their rungs) whose folder or finished file was
    /// `path`, just deleted.
    fn forget_stored(&self, path: &std::path::Path) {
        let c = &self.shared.config;
        let mut jobs = self.shared.jobs.lock();
        let gone: Vec<String> = jobs
            .values()
            .filter(|j| c.cache_dir.join(j.id()) == path || j.final_path() == path)
            .flat_map(|j| std::iter::once(j.id().to_owned()).chain(j.rungs().iter().map(|r| r.id().to_owned())))
            .collect();
        for id in gone {
            if let Some(j) = jobs.remove(&id) {
                j.cancel();
            }
        }
    }

    /// Deletes the jobs made from `input` as it was before it changed (now `size` bytes,
    /// modified at `mtime_ns`): their finished files and folders. A touched or replaced source
    /// gets a new job, so nothing can ask for them again.
    fn remove_superseded(&self, input: &std::path::Path, size: u64, mtime_ns: i128) {
        let final_dir = self.shared.config.final_dir();
        for (dir, finished) in store::superseded(&self.shared.config.cache_dir, input, size, mtime_ns) {
            self.forget_stored(&dir);
            // Only a file the engine saved in its output folder, never one elsewhere.
            if let Some(file) = finished.filter(|f| f.parent() == Some(final_dir.as_path())) {
                if std::fs::remove_file(&file).is_ok() {
                    tracing::info!(path = %file.display(), "removed the finished file of a source that changed since");
                }
            }
            if std::fs::remove_dir_all(&dir).is_ok() {
                tracing::info!(path = %dir.display(), "removed the job folder of a source that changed since");
            }
        }
    }

    /// Cancels a job: its ffmpeg is killed, no finished file appears, segments stay for reuse.
    pub fn cancel(&self, id: &str) -> Result<()> {
        self.job(id)?.cancel_for_good();
        Ok(())
    }
}

/// The encode settings that tell jobs for one source apart (part of the job id).
fn profile_key(plan: &EncodePlan) -> String {
    format!(
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
    )
}
