//! What the configured ffmpeg can really do here: finding the tools, one-frame test encodes per
//! backend (the only truthful check of a GPU), why a backend fails in words a person needs, the
//! choice `auto` makes and the encoder sessions it allows. A choice is cached per ffmpeg binary
//! (path, size, mtime) for a day, so a CLI start does not rerun the test encodes.

use crate::config::Backend;
use crate::error::{Error, Result};
use crate::plan::argv::push;
use crate::process::{Exit, Spawn};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a backend check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendCheck {
    /// The backend.
    pub backend: Backend,
    /// Whether a one-frame test encode worked.
    pub works: bool,
    /// ffmpeg's reason when it did not.
    pub reason: Option<String>,
}

/// The GPU backends in order of preference for `auto`.
pub const GPU_BACKENDS: [Backend; 3] = [Backend::Nvenc, Backend::Qsv, Backend::Vaapi];

/// Encoder sessions a consumer NVIDIA GPU allows at once.
const NVENC_SESSIONS: usize = 8;

/// How long a test encode may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `auto`'s choice is trusted for the same ffmpeg binary (a driver can change under it).
const CHOICE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Finds a tool: the configured path, else `name` beside `beside` (ffprobe next to ffmpeg), else
/// on PATH; it must be an executable file.
pub fn resolve_tool(configured: Option<&Path>, name: &str, beside: Option<&Path>) -> Result<PathBuf> {
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

/// Runs a one-frame test encode on `backend` with `ffmpeg`.
pub async fn check_backend(ffmpeg: &Path, backend: Backend, vaapi_device: &str) -> BackendCheck {
    let (works, reason) = try_ffmpeg(ffmpeg, capability_test_args(backend, vaapi_device)).await;
    BackendCheck { backend, works, reason }
}

/// Runs a one-frame HEVC test encode on a GPU backend's own encoder (`hevc_nvenc`, ...): a card
/// that encodes H.264 may lack HEVC. The CPU has no hardware encoder: not run, never works.
pub async fn check_hevc_hardware(ffmpeg: &Path, backend: Backend, vaapi_device: &str) -> BackendCheck {
    if matches!(backend, Backend::Cpu | Backend::Auto) {
        return BackendCheck { backend, works: false, reason: Some("no hardware encoder on the CPU backend".into()) };
    }
    let args = capability_test_args(backend, vaapi_device)
        .into_iter()
        .map(|a| match a.to_str().and_then(|s| s.strip_prefix("h264_")) {
            Some(family) => OsString::from(format!("hevc_{family}")),
            None => a,
        })
        .collect();
    let (works, reason) = try_ffmpeg(ffmpeg, args).await;
    BackendCheck { backend, works, reason }
}

/// Runs a one-frame libplacebo filter on a Vulkan device: can shader upscaling run here?
pub async fn check_shader_support(ffmpeg: &Path) -> (bool, Option<String>) {
    try_ffmpeg(ffmpeg, shader_test_args()).await
}

async fn try_ffmpeg(ffmpeg: &Path, args: Vec<OsString>) -> (bool, Option<String>) {
    match Spawn::new(ffmpeg, &args).output(TEST_TIMEOUT).await {
        Ok(out) if out.exit == Exit::Success => (true, None),
        Ok(out) => (false, Some(explain_backend_failure(&String::from_utf8_lossy(&out.stderr)))),
        Err(e) => (false, Some(format!("test encode: {e}"))),
    }
}

/// `auto`'s choice as remembered for one ffmpeg binary.
#[derive(Debug, Serialize, Deserialize)]
struct Remembered {
    ffmpeg: PathBuf,
    size: u64,
    mtime_ns: u128,
    vaapi_device: String,
    checked_at: u64,
    backend: Backend,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The stamp of an ffmpeg binary: its size and mtime (ns).
fn stamp(ffmpeg: &Path) -> Option<(u64, u128)> {
    let m = std::fs::metadata(ffmpeg).ok()?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Some((m.len(), mtime))
}

/// What `auto` picked for this very ffmpeg binary less than a day ago, if anything.
pub fn remembered_backend(ffmpeg: &Path, vaapi_device: &str, remembered: &Path) -> Option<Backend> {
    let (size, mtime_ns) = stamp(ffmpeg)?;
    let r = serde_json::from_slice::<Remembered>(&std::fs::read(remembered).ok()?).ok()?;
    let fresh = now_secs().saturating_sub(r.checked_at) < CHOICE_TTL.as_secs();
    (fresh && r.ffmpeg == ffmpeg && (r.size, r.mtime_ns) == (size, mtime_ns) && r.vaapi_device == vaapi_device)
        .then_some(r.backend)
}

/// The backend `auto` picks: the first GPU backend whose test encode works, else the CPU; the
/// choice is read from and written to `remembered` (a file in the cache folder) for this ffmpeg.
pub async fn choose_backend(ffmpeg: &Path, vaapi_device: &str, remembered: &Path) -> Backend {
    if let Some(backend) = remembered_backend(ffmpeg, vaapi_device, remembered) {
        tracing::info!("backend {backend:?}, as tested for this ffmpeg before");
        return backend;
    }
    let mut backend = Backend::Cpu;
    for b in GPU_BACKENDS {
        let check = check_backend(ffmpeg, b, vaapi_device).await;
        if check.works {
            backend = b;
            break;
        }
        tracing::info!("backend {b:?} unusable: {}", check.reason.unwrap_or_default());
    }
    if backend == Backend::Cpu {
        tracing::info!("no GPU backend works here; using the CPU");
    }
    if let Some((size, mtime_ns)) = stamp(ffmpeg) {
        let r = Remembered {
            ffmpeg: ffmpeg.to_path_buf(),
            size,
            mtime_ns,
            vaapi_device: vaapi_device.to_owned(),
            checked_at: now_secs(),
            backend,
        };
        // Only a speed-up: a cache that cannot be written is tested again next time.
        if let Ok(bytes) = serde_json::to_vec(&r) {
            let _ = crate::store::write_atomic(remembered, &bytes);
        }
    }
    backend
}

/// Encoder slots for upscaled jobs: consumer NVIDIA cards open at most 8 encoder sessions at
/// once, and one job holds one.
pub fn encoder_slots(backend: Backend, max_concurrent_jobs: usize) -> usize {
    if backend == Backend::Nvenc {
        max_concurrent_jobs.min(NVENC_SESSIONS)
    } else {
        max_concurrent_jobs
    }
}

/// ffmpeg arguments for a one-frame test encode on a backend: the truthful capability probe.
pub fn capability_test_args(backend: Backend, vaapi_device: &str) -> Vec<OsString> {
    let mut a = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error"]);
    let (init, filter, enc): (Vec<String>, &str, &str) = match backend {
        Backend::Nvenc => (
            vec!["-init_hw_device".into(), "cuda=gpu".into(), "-filter_hw_device".into(), "gpu".into()],
            "format=nv12,hwupload_cuda,scale_cuda=256:144",
            "h264_nvenc",
        ),
        Backend::Vaapi => (
            vec!["-init_hw_device".into(), format!("vaapi=va:{vaapi_device}"), "-filter_hw_device".into(), "va".into()],
            "format=nv12,hwupload,scale_vaapi=w=256:h=144",
            "h264_vaapi",
        ),
        Backend::Qsv => (
            vec!["-init_hw_device".into(), "qsv=qs".into(), "-filter_hw_device".into(), "qs".into()],
            "format=nv12,hwupload=extra_hw_frames=16,vpp_qsv=w=256:h=144",
            "h264_qsv",
        ),
        Backend::Cpu | Backend::Auto => (vec![], "scale=256:144:flags=lanczos", "libx264"),
    };
    a.extend(init.into_iter().map(OsString::from));
    push(
        &mut a,
        &[
            "-f",
            "lavfi",
            "-i",
            "color=black:size=128x72:rate=1",
            "-frames:v",
            "1",
            "-vf",
            filter,
            "-c:v",
            enc,
            "-f",
            "null",
            "-",
        ],
    );
    a
}

/// ffmpeg arguments for a one-frame libplacebo run on a Vulkan device: can shaders run here?
pub fn shader_test_args() -> Vec<OsString> {
    let mut a = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error", "-init_hw_device", "vulkan=vk"]);
    push(&mut a, &["-filter_hw_device", "vk", "-f", "lavfi", "-i", "color=black:size=64x36:rate=1", "-frames:v", "1"]);
    push(
        &mut a,
        &["-vf", "format=yuv420p,hwupload,libplacebo=w=128:h=72,hwdownload,format=yuv420p", "-f", "null", "-"],
    );
    a
}

/// Turns ffmpeg's error output from a failed test encode into the reason a person needs.
pub fn explain_backend_failure(stderr: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("Cannot load libcuda", "no CUDA driver or NVIDIA GPU (libcuda.so.1 not loadable)"),
        ("no CUDA-capable device", "no CUDA device"),
        ("CUDA_ERROR_NO_DEVICE", "no CUDA device"),
        ("Driver does not support the required nvenc API version", "NVIDIA driver too old for this ffmpeg's NVENC"),
        ("incompatible client key", "NVENC encoder session limit reached"),
        ("OpenEncodeSessionEx failed: out of memory", "NVENC encoder session limit reached or GPU out of memory"),
        ("No VA display found", "no VAAPI device (render node missing or not a GPU)"),
        ("vaInitialize failed", "VAAPI driver failed to initialise"),
        ("Generic error in an external library", "no working Intel Quick Sync device or driver"),
        ("Unknown encoder", "this ffmpeg lacks the encoder"),
        ("No such filter", "this ffmpeg lacks the filter"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, why)| why.to_string())
        .unwrap_or_else(|| stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_failures_are_explained() {
        let cuda = "[AVHWDeviceContext @ 0x1] Cannot load libcuda.so.1\nDevice creation failed: -1.";
        assert!(explain_backend_failure(cuda).contains("no CUDA driver"));
        assert!(explain_backend_failure("x\nNo VA display found for device /dev/dri/renderD128.")
            .contains("no VAAPI device"));
        assert!(explain_backend_failure("OpenEncodeSessionEx failed: incompatible client key (21)")
            .contains("session limit"));
        assert_eq!(explain_backend_failure("\nsomething new\n"), "something new");
    }

    #[test]
    fn nvenc_caps_encoder_slots() {
        assert_eq!(encoder_slots(Backend::Nvenc, 20), 8);
        assert_eq!(encoder_slots(Backend::Cpu, 20), 20);
    }
}
